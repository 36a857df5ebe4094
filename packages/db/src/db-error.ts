import { PG_ERROR, pgErrorCode } from './pg-error-codes.js';

/** Stable codes of {@link DbError}; they map onto the wire's error codes. */
export type DbErrorCode =
  'not_found' | 'conflict' | 'forbidden' | 'invalid_input' | 'unavailable' | 'migration_failed';

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

/**
 * A one-line explanation of an error from a query, for a command line: the innermost cause's
 * message (drizzle's own error repeats the whole query and its parameters), with what to do
 * when the database was not migrated.
 */
export function explainDbError(error: unknown): string {
  let innermost = error;
  while (innermost instanceof Error && innermost.cause instanceof Error) {
    innermost = innermost.cause;
  }
  const message = innermost instanceof Error ? innermost.message : String(innermost);
  return pgErrorCode(error) === PG_ERROR.undefinedTable
    ? `${message}: migrate the database first (DATABASE_URL=… nx run db:migrate)`
    : message;
}
