import type { ErrorCode, WireError } from '@ccs/protocol';

/** An error the gateway reports to the client as-is: a wire code and a message. */
export class RealtimeError extends Error {
  override readonly name = 'RealtimeError';

  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  toWire(): WireError {
    return { code: this.code, message: this.message };
  }
}
