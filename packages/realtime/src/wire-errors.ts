import { DbError, FileConflictError, type DbErrorCode } from '@ccs/db';
import type { ErrorCode } from '@ccs/protocol';
import type { Logger } from 'pino';
import { RealtimeError } from './realtime-error.js';

/** The `DbError` codes a client can act on, and the wire code each becomes. */
const CLIENT_DB_ERRORS: Partial<Record<DbErrorCode, ErrorCode>> = {
  not_found: 'not_found',
  conflict: 'conflict',
  forbidden: 'forbidden',
  invalid_input: 'invalid_payload',
};

/**
 * What a client is told of an error: a {@link RealtimeError} as it is, a `DbError` the client
 * can act on (`not_found`, `conflict` — with the file's current version when a file change lost
 * its compare-and-set —, `forbidden`, `invalid_input`) with its wire code, anything else as
 * `internal` (and logged, without the request's values: the service logger redacts them).
 */
export function toWireError(error: unknown, logger: Logger): RealtimeError {
  if (error instanceof RealtimeError) return error;
  const code = error instanceof DbError ? CLIENT_DB_ERRORS[error.code] : undefined;
  if (error instanceof DbError && code !== undefined) {
    return new RealtimeError(code, error.message, {
      cause: error,
      ...(error instanceof FileConflictError && error.current && { current: error.current }),
    });
  }
  logger.error({ err: error }, 'unexpected gateway error');
  return new RealtimeError('internal', 'internal error; retry later', { cause: error });
}
