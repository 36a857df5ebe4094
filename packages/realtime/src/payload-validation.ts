import type { z } from 'zod';
import { RealtimeError } from './realtime-error.js';

/**
 * `payload` as `schema` parses it, or an `invalid_payload` error naming the event, the field
 * and what is wrong with it (the same words whether it came over socket.io or REST).
 */
export function parsePayload<T>(event: string, schema: z.ZodType<T>, payload: unknown): T {
  const parsed = schema.safeParse(payload);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
  throw new RealtimeError('invalid_payload', `${event}: ${where}${issue?.message ?? 'invalid'}`);
}
