import { TestClientError } from './test-client-error.js';

/** Why an ack did not come: it took too long, or the socket dropped before it came. */
export type AckFailure = 'timeout' | 'disconnected';

/** Thrown by `emitWithAck` when the server did not answer. */
export class AckError extends TestClientError {
  override readonly name = 'AckError';

  constructor(
    readonly event: string,
    readonly payload: unknown,
    readonly reason: AckFailure,
    readonly timeoutMs: number,
    options?: { cause?: unknown; client?: string },
  ) {
    const what =
      reason === 'timeout'
        ? `no ack within ${timeoutMs} ms`
        : 'the socket disconnected before the ack came';
    super(
      'ack_failed',
      `"${event}" ${JSON.stringify(payload)}${options?.client ? ` from ${options.client}` : ''}: ` +
        `${what}; is the server handling "${event}" and calling its ack?`,
      options,
    );
  }
}
