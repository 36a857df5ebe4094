import type { ErrorCode, WireError } from '@ccs/protocol';

/** An error the gateway reports to the client as-is: a wire code and a message. */
export class RealtimeError extends Error {
  override readonly name = 'RealtimeError';
  /** With `rate_limited`: how long the client should wait before it retries. */
  readonly retryAfterMs: number | undefined;

  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown; retryAfterMs?: number },
  ) {
    super(message, options);
    this.retryAfterMs = options?.retryAfterMs;
  }

  toWire(): WireError {
    return this.retryAfterMs === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, retryAfterMs: this.retryAfterMs };
  }
}
