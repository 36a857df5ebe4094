import { DbError } from '@ccs/db';
import type { Logger } from 'pino';
import { RealtimeError } from './realtime-error.js';

/**
 * What a client is told of an error: a {@link RealtimeError} as it is, a `DbError` the client
 * can act on (`not_found`, `conflict`) with its code, anything else as `internal` (and logged,
 * without the request's values: the service logger redacts them).
 */
export function toWireError(error: unknown, logger: Logger): RealtimeError {
  if (error instanceof RealtimeError) return error;
  if (error instanceof DbError && (error.code === 'not_found' || error.code === 'conflict')) {
    return new RealtimeError(error.code, error.message, { cause: error });
  }
  logger.error({ err: error }, 'unexpected gateway error');
  return new RealtimeError('internal', 'internal error; retry later', { cause: error });
}
