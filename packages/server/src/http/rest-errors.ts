import type { ErrorCode, WireError } from '@ccs/protocol';
import type { FastifyReply } from 'fastify';

/** The HTTP status of each wire error code. */
const STATUS: Readonly<Record<ErrorCode, number>> = {
  invalid_payload: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  rate_limited: 429,
  unknown_event: 404,
  internal: 500,
};

/**
 * Answers with the same `{ code, message }` (and `retryAfterMs`, `current`) a socket ack would
 * carry, under the status that code means; `rate_limited` also sets `Retry-After`.
 */
export function sendWireError(
  reply: FastifyReply,
  error: WireError,
  status = STATUS[error.code],
): FastifyReply {
  if (error.retryAfterMs !== undefined) {
    void reply.header('retry-after', String(Math.max(1, Math.ceil(error.retryAfterMs / 1000))));
  }
  return reply.code(status).send(error);
}
