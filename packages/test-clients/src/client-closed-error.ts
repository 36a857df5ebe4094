import { TestClientError } from './test-client-error.js';

/** Rejects every wait still pending when `close()` is called, so no timer outlives its test. */
export class ClientClosedError extends TestClientError {
  override readonly name = 'ClientClosedError';

  constructor(
    /** What was being waited for, e.g. `"change"` or `state connected`. */
    readonly waitingFor: string,
    readonly client?: string,
  ) {
    super(
      'client_closed',
      `${client ?? 'the client'} was closed while waiting for ${waitingFor}; ` +
        'await the wait before closing, or catch it',
    );
  }
}
