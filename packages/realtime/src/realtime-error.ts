import type { ErrorCode, FileVersion, WireError } from '@ccs/protocol';

/** An error the gateway reports to the client as-is: a wire code and a message. */
export class RealtimeError extends Error {
  override readonly name = 'RealtimeError';
  /** With `rate_limited`: how long the client should wait before it retries. */
  readonly retryAfterMs: number | undefined;
  /** With `conflict` of a file change: the file as it is now. */
  readonly current: FileVersion | undefined;

  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown; retryAfterMs?: number; current?: FileVersion },
  ) {
    super(message, options);
    this.retryAfterMs = options?.retryAfterMs;
    this.current = options?.current;
  }

  toWire(): WireError {
    return {
      code: this.code,
      message: this.message,
      ...(this.retryAfterMs !== undefined && { retryAfterMs: this.retryAfterMs }),
      ...(this.current !== undefined && { current: this.current }),
    };
  }
}
