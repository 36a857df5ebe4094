import type { CallMap, CallRequest, ChildMessage } from './call-map.js';

/** One handler per method of a call map. */
export type CallHandlers<Calls extends CallMap<Calls>> = {
  readonly [Method in keyof Calls]: (
    params: Calls[Method]['params'],
  ) => Promise<Calls[Method]['result']> | Calls[Method]['result'];
};

/**
 * Serves the runner's calls in a process forked by `ChildLink.fork`, then tells it the process is
 * ready. The process exits when the runner goes away, so a crashed run never leaves children
 * behind.
 */
export function serveParentCalls<Calls extends CallMap<Calls>>(
  handlers: CallHandlers<Calls>,
): void {
  const send = process.send?.bind(process);
  if (!send)
    throw new Error(
      'serveParentCalls: this process must be started by ChildLink.fork (fork with IPC)',
    );
  process.on('message', (request: CallRequest) => {
    if (request.kind !== 'call') return;
    const handler = (handlers as Record<string, unknown>)[request.method] as
      ((params: unknown) => Promise<unknown> | unknown) | undefined;
    const reply = (message: ChildMessage): void => void send(message);
    if (!handler) {
      reply({ kind: 'failure', id: request.id, message: `unknown call ${request.method}` });
      return;
    }
    Promise.resolve()
      .then(() => handler(request.params))
      .then(
        (result) => reply({ kind: 'reply', id: request.id, result }),
        (error: unknown) =>
          reply({
            kind: 'failure',
            id: request.id,
            message: error instanceof Error ? (error.stack ?? error.message) : String(error),
          }),
      );
  });
  process.on('disconnect', () => process.exit(0));
  send({ kind: 'ready' } satisfies ChildMessage);
}
