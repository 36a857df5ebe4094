/** Stable codes of {@link TestClientError}, one per failure a test can hit. */
export type TestClientErrorCode =
  | 'wait_timeout'
  | 'state_timeout'
  | 'unexpected_event'
  | 'ack_failed'
  | 'ack_refused'
  | 'client_closed'
  | 'delivery_mismatch'
  | 'fleet_connect_failed'
  | 'fleet_wait_timeout'
  | 'barrier_timeout';

/**
 * Base error of `@ccs/test-clients`: a stable `code`, readonly context fields on each subclass,
 * and a message that says what was expected and what arrived instead.
 */
export class TestClientError extends Error {
  override readonly name: string = 'TestClientError';

  constructor(
    readonly code: TestClientErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
