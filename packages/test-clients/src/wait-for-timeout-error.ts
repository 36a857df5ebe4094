import type { RecordedEvent } from './recorded-event.js';

/** Thrown by `waitFor` when the awaited event did not arrive in time; lists what did arrive. */
export class WaitForTimeoutError extends Error {
  override readonly name = 'WaitForTimeoutError';

  constructor(
    readonly event: string,
    readonly timeoutMs: number,
    readonly received: readonly RecordedEvent[],
  ) {
    const seen = received
      .filter((entry) => entry.direction === 'in')
      .slice(-10)
      .map((entry) => `  ${entry.event} ${truncate(JSON.stringify(entry.args))}`)
      .join('\n');
    super(
      `no matching "${event}" within ${timeoutMs} ms; ` +
        (seen ? `last events received:\n${seen}` : 'nothing was received'),
    );
  }
}

function truncate(text: string): string {
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}
