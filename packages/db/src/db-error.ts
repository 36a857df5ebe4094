/** Stable codes of {@link DbError}; they map onto the wire's error codes. */
export type DbErrorCode = 'not_found' | 'conflict' | 'unavailable' | 'migration_failed';

/** Base error of `@ccs/db`: a stable `code`, the context that explains it, and the cause. */
export class DbError extends Error {
  override readonly name = 'DbError';

  constructor(
    readonly code: DbErrorCode,
    message: string,
    readonly context: Readonly<Record<string, unknown>> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
