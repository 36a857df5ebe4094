import { createHmac } from 'node:crypto';
import { findActiveDevice, findActiveDevices, type Database, type Device } from '@ccs/db';
import { handshakeAuthSchema, verifyDeviceToken, type VerifiedDeviceToken } from '@ccs/protocol';
import type { Logger } from 'pino';
import type { GatewayMetrics } from './gateway-metrics.js';
import type { GatewayServer, GatewaySocket } from './gateway-socket.js';
import type { LocalSessions } from './local-sessions.js';
import { RealtimeError } from './realtime-error.js';
import { rateLimited, type TokenBuckets } from './send-limits.js';
import { TurnBatcher } from './turn-batcher.js';
import { toWireError } from './wire-errors.js';

/** What {@link useHandshakeAuth} needs. */
export interface HandshakeAuthDeps {
  /** HMAC secret device tokens are signed with. */
  readonly jwtSecret: string;
  readonly maxTokenLifetimeSeconds: number | undefined;
  /** Where the device is looked up (a pool apart from sends). */
  readonly authDb: Database;
  readonly sessions: LocalSessions<GatewaySocket>;
  /** Handshakes per device, spent before the database is asked. */
  readonly connectRates: TokenBuckets;
  readonly connectsPerSecond: number;
  readonly logger: Logger;
  readonly metrics: GatewayMetrics | undefined;
}

/**
 * Adds the handshake middleware: `auth: { token }` must be a valid device token (signature,
 * `exp`, lifetime), within the device's handshake rate and socket limits, of a device that is
 * active in the database. Refusals are `connect_error`s whose `data` is `{ code, message }`
 * (with `retryAfterMs` when `rate_limited`). The socket is counted before the database is
 * asked, so a revocation read meanwhile refuses it.
 */
export function useHandshakeAuth(io: GatewayServer, deps: HandshakeAuthDeps): void {
  const { sessions } = deps;
  // The devices of the handshakes of one turn are read with one query.
  const devices = new TurnBatcher<string, Device>({
    load: (ids) => findActiveDevices(deps.authDb, ids),
  });
  io.use((socket, next) => {
    let admitted: VerifiedDeviceToken | undefined;
    verifyHandshake(socket.handshake.auth, deps.jwtSecret, deps.maxTokenLifetimeSeconds)
      .then(async (token) => {
        const waitMs = deps.connectRates.take(token.deviceId);
        if (waitMs > 0) {
          throw rateLimited(
            `this device connects over ${deps.connectsPerSecond} times per second`,
            waitMs,
          );
        }
        sessions.admit(socket, token);
        admitted = token;
        // A client gone before its handshake ends never connects (socket.io drops it without a
        // `disconnect`): its count goes with its connection, whenever that closes.
        if (socket.conn.readyState === 'closed') throw new RealtimeError('conflict', 'client gone');
        socket.conn.once('close', () => sessions.remove(socket, token));
        // Asked after the socket is counted: its device is read after that, in a later batch.
        requireOwnDevice(await devices.get(token.deviceId), token);
        const ended = sessions.endedDuringHandshake(socket);
        if (ended) throw new RealtimeError('unauthorized', ended.message);
        return token;
      })
      .then(
        (token) => {
          socket.data = { ...token, subscriptions: new Map(), received: {} };
          next();
        },
        (error: unknown) => {
          if (admitted) sessions.remove(socket, admitted);
          const wire = toWireError(error, deps.logger);
          deps.metrics?.handshakesRefused.inc({ code: wire.code });
          if (wire.code === 'rate_limited') deps.metrics?.rateLimited.inc({ scope: 'handshake' });
          next(Object.assign(new Error(wire.message), { data: wire.toWire() }));
        },
      );
  });
}

async function verifyHandshake(
  auth: unknown,
  secret: string,
  maxLifetimeSeconds: number | undefined,
): Promise<VerifiedDeviceToken> {
  const parsed = handshakeAuthSchema.safeParse(auth);
  if (!parsed.success) {
    throw new RealtimeError('unauthorized', 'handshake needs auth: { token } with a device token');
  }
  return verifyToken(parsed.data.token, secret, maxLifetimeSeconds);
}

/**
 * A device token's identity when its signature, `exp` and lifetime are valid, else
 * `unauthorized` saying why.
 */
export async function verifyToken(
  token: string,
  secret: string,
  maxLifetimeSeconds: number | undefined,
): Promise<VerifiedDeviceToken> {
  try {
    return await verifyDeviceToken(token, secret, {
      ...(maxLifetimeSeconds !== undefined && { maxLifetimeSeconds }),
      hmacSha256,
    });
  } catch (error) {
    throw new RealtimeError('unauthorized', `invalid device token: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/** Node's HMAC: synchronous, several times cheaper than the Web Crypto verify jose makes. */
function hmacSha256(secret: string, data: string): Uint8Array {
  return createHmac('sha256', secret).update(data).digest();
}

/** Throws `unauthorized` unless the token's device exists, is not revoked and is the user's. */
export async function requireActiveDevice(db: Database, token: VerifiedDeviceToken): Promise<void> {
  requireOwnDevice(await findActiveDevice(db, token.deviceId), token);
}

/** Throws `unauthorized` unless `device` (the active device found, if any) is the token's user's. */
function requireOwnDevice(device: Device | undefined, token: VerifiedDeviceToken): void {
  if (!device || device.userId !== token.userId) {
    throw new RealtimeError('unauthorized', 'device unknown or revoked; sign in again');
  }
}
