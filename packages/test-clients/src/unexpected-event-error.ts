import { describeEvent } from './describe-events.js';
import type { RecordedEvent } from './recorded-event.js';
import { TestClientError } from './test-client-error.js';

/** Thrown by `expectNoEvent` as soon as an event it forbids arrives. */
export class UnexpectedEventError extends TestClientError {
  override readonly name = 'UnexpectedEventError';

  constructor(
    /** The event that must not arrive, or `undefined` for "no event at all". */
    readonly expectedAbsent: string | undefined,
    readonly withinMs: number,
    /** The event that did arrive. */
    readonly arrived: RecordedEvent,
    readonly client?: string,
  ) {
    const what = expectedAbsent === undefined ? 'no event' : `no matching "${expectedAbsent}"`;
    super(
      'unexpected_event',
      `expected ${what} for ${withinMs} ms${client ? ` on ${client}` : ''}, ` +
        `but received: ${describeEvent(arrived)}`,
    );
  }
}
