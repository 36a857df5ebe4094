import type { Actor, Database } from '@ccs/db';
import {
  rateLimited,
  requireActiveDevice,
  RealtimeError,
  type TokenBuckets,
  verifyToken,
} from '@ccs/realtime';
import type { FastifyRequest } from 'fastify';

/** What {@link authenticateRequest} needs. */
export interface RestAuthDeps {
  readonly jwtSecret: string;
  readonly maxTokenLifetimeSeconds: number;
  /** Where the device is looked up (the small pool of handshakes). */
  readonly authDb: Database;
  /** REST requests per device, spent before the database is asked. */
  readonly requestRates: TokenBuckets;
  readonly requestsPerSecond: number;
}

const BEARER = /^Bearer ([^\s]+)$/i;

/**
 * The device a REST request comes from: `Authorization: Bearer <device token>`, checked as a
 * socket handshake is (signature, expiry, lifetime, device active and the user's), within the
 * device's request rate. Throws `unauthorized` or `rate_limited`.
 */
export async function authenticateRequest(
  request: FastifyRequest,
  deps: RestAuthDeps,
): Promise<Actor> {
  const match = BEARER.exec(request.headers.authorization ?? '');
  if (!match) {
    throw new RealtimeError(
      'unauthorized',
      'send the device token as "Authorization: Bearer <token>"',
    );
  }
  const token = await verifyToken(match[1]!, deps.jwtSecret, deps.maxTokenLifetimeSeconds);
  const waitMs = deps.requestRates.take(token.deviceId);
  if (waitMs > 0) {
    throw rateLimited(
      `this device makes over ${deps.requestsPerSecond} requests per second`,
      waitMs,
    );
  }
  await requireActiveDevice(deps.authDb, token);
  return { userId: token.userId, deviceId: token.deviceId };
}
