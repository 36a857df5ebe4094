import type { ErrorCode, FileVersion, WireError } from '@ccs/protocol';

/** Codes of {@link ClientError}: the server's wire codes, and the SDK's own. */
export type ClientErrorCode = ErrorCode | 'closed' | 'offline' | 'http_error' | 'storage';

/**
 * Why a write, a read or the connection failed: a stable `code` to branch on (the server's
 * wire code when the server answered), a message that says what to do, and for a file
 * `conflict` the file as it is now (`current`), to rebase the change on.
 */
export class ClientError extends Error {
  override readonly name = 'ClientError';
  readonly retryAfterMs: number | undefined;
  readonly current: FileVersion | undefined;

  constructor(
    readonly code: ClientErrorCode,
    message: string,
    options: { cause?: unknown; retryAfterMs?: number; current?: FileVersion } = {},
  ) {
    super(message, { cause: options.cause });
    this.retryAfterMs = options.retryAfterMs;
    this.current = options.current;
  }

  /** The error the server answered with. */
  static fromWire(error: WireError): ClientError {
    return new ClientError(error.code, error.message, {
      ...(error.retryAfterMs !== undefined && { retryAfterMs: error.retryAfterMs }),
      ...(error.current !== undefined && { current: error.current }),
    });
  }
}
