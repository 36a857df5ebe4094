import type { WireError } from '@ccs/protocol';
import { TestClientError } from './test-client-error.js';

/** Thrown by a helper that expects the server to accept (`subscribe`) when it refused. */
export class AckRefusedError extends TestClientError {
  override readonly name = 'AckRefusedError';

  constructor(
    readonly event: string,
    readonly payload: unknown,
    readonly error: WireError,
    options?: { client?: string },
  ) {
    super(
      'ack_refused',
      `"${event}" ${JSON.stringify(payload)}${options?.client ? ` from ${options.client}` : ''}: ` +
        `refused with ${error.code}: ${error.message}`,
    );
  }
}
