import type { ConnectionState } from './connection-state.js';
import { describeEvents } from './describe-events.js';
import type { RecordedEvent } from './recorded-event.js';
import { TestClientError } from './test-client-error.js';

/** What a {@link WaitForTimeoutError} knows beyond the event and the timeout. */
export interface WaitForTimeoutContext {
  /** Name of the client that waited. */
  readonly client?: string;
  /** Connection state when the wait gave up: a wait on a dropped socket says so. */
  readonly state?: ConnectionState;
  /** For `waitForCount`: how many matching events were expected. */
  readonly expected?: number;
  /** For `waitForCount`: how many matching events did arrive. */
  readonly matched?: number;
}

/** Thrown by `waitFor` when the awaited event did not arrive in time; lists what did arrive. */
export class WaitForTimeoutError extends TestClientError {
  override readonly name = 'WaitForTimeoutError';

  constructor(
    readonly event: string,
    readonly timeoutMs: number,
    readonly received: readonly RecordedEvent[],
    readonly context: WaitForTimeoutContext = {},
  ) {
    const { client, state, expected, matched } = context;
    const what =
      expected === undefined
        ? `no matching "${event}" within ${timeoutMs} ms`
        : `only ${matched ?? 0} of ${expected} matching "${event}" within ${timeoutMs} ms`;
    const who = [client, state && `state ${state}`].filter(Boolean).join(', ');
    super('wait_timeout', `${what}${who ? ` (${who})` : ''}; ${describeEvents(received)}`);
  }
}
