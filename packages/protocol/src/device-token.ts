import { jwtVerify, SignJWT } from 'jose';
import { z } from 'zod';
import { quickVerifiedClaims, type HmacSha256 } from './device-token-fast.js';

/** Who a socket is: the device and the user it belongs to. */
export interface DeviceIdentity {
  readonly userId: string;
  readonly deviceId: string;
}

/** What a valid device token says: who, and until when. */
export interface VerifiedDeviceToken extends DeviceIdentity {
  /** When the token expires (its `exp`), in epoch milliseconds. */
  readonly expiresAt: number;
}

/** Options of {@link signDeviceToken}. */
export interface SignDeviceTokenOptions {
  /** Shared HMAC secret (HS256), at least 16 characters. */
  readonly secret: string;
  /** Lifetime, in jose's syntax (`'1h'`, `'30d'`). @default '30d' */
  readonly expiresIn?: string;
}

const ISSUER = 'ccs';

function key(secret: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(secret);
}

/** A Web Crypto key (`CryptoKey`; named so without the DOM types, which this package lacks). */
type VerifyKey = Awaited<ReturnType<typeof crypto.subtle.importKey>>;

/** Secrets kept imported at most: a server has one or two (during a rotation). */
const MAX_CACHED_VERIFY_KEYS = 8;

/** HMAC keys imported for verifying, by secret: importing one costs more than a verify. */
const verifyKeys = new Map<string, Promise<VerifyKey>>();

/** The secret's HS256 verify key, imported once (then shared by every verify). */
function verifyKey(secret: string): Promise<VerifyKey> {
  let imported = verifyKeys.get(secret);
  if (!imported) {
    if (verifyKeys.size >= MAX_CACHED_VERIFY_KEYS) verifyKeys.clear();
    imported = crypto.subtle.importKey(
      'raw',
      key(secret),
      { name: 'HMAC', hash: 'SHA-256' },
      false,
      ['verify'],
    );
    // A failed import is not kept: the next verify tries again.
    imported.catch(() => verifyKeys.delete(secret));
    verifyKeys.set(secret, imported);
  }
  return imported;
}

/**
 * Signs the token a device presents in the socket.io handshake (`auth: { token }`).
 *
 * @example
 * const token = await signDeviceToken({ userId, deviceId }, { secret: config.jwtSecret });
 */
export async function signDeviceToken(
  identity: DeviceIdentity,
  options: SignDeviceTokenOptions,
): Promise<string> {
  return (
    new SignJWT({ uid: identity.userId })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(identity.deviceId)
      .setIssuer(ISSUER)
      // Each reads the clock, in whole seconds: `exp` first, so that a second that turns between
      // the two reads shortens the token instead of making it a second over its lifetime.
      .setExpirationTime(options.expiresIn ?? '30d')
      .setIssuedAt()
      .sign(key(options.secret))
  );
}

/** The longest token lifetime {@link verifyDeviceToken} accepts by default: 30 days. */
const DEFAULT_MAX_TOKEN_LIFETIME_SECONDS = 30 * 24 * 3600;

/**
 * What a lifetime may be over the maximum: `iat` and `exp` are whole seconds, and a signer that
 * reads the clock once for each (jose's builder does) makes a token a second over when a second
 * turns between the two reads.
 */
const LIFETIME_SLACK_SECONDS = 1;

/** Options of {@link verifyDeviceToken}. */
export interface VerifyDeviceTokenOptions {
  /**
   * A token whose lifetime (`exp − iat`) is longer is refused, so that no token is valid for
   * ever. @default 2592000 (30 days, as long as {@link signDeviceToken}'s default)
   */
  readonly maxLifetimeSeconds?: number;
  /**
   * A synchronous HMAC-SHA256 (a server passes Node's `createHmac`): a token it shows valid is
   * accepted without Web Crypto, several times cheaper; any other token is verified by jose as
   * without it, so the outcome and the error are the same either way.
   */
  readonly hmacSha256?: HmacSha256;
}

/**
 * Verifies a device token; throws when it is malformed, expired, signed with another key, or
 * without `exp`/`iat` or with a lifetime over `maxLifetimeSeconds`.
 */
export async function verifyDeviceToken(
  token: string,
  secret: string,
  options: VerifyDeviceTokenOptions = {},
): Promise<VerifiedDeviceToken> {
  const payload =
    (options.hmacSha256 &&
      quickVerifiedClaims(token, secret, options.hmacSha256, {
        issuer: ISSUER,
        nowSeconds: Math.floor(Date.now() / 1000),
      })) ||
    (
      await jwtVerify(token, await verifyKey(secret), {
        issuer: ISSUER,
        algorithms: ['HS256'],
        requiredClaims: ['exp', 'iat'],
      })
    ).payload;
  const claims = tokenClaimsSchema.safeParse(payload);
  if (!claims.success) {
    throw new Error('token needs sub (device id) and uid (user id), both UUIDs');
  }
  const maxLifetime = options.maxLifetimeSeconds ?? DEFAULT_MAX_TOKEN_LIFETIME_SECONDS;
  if (claims.data.exp - claims.data.iat > maxLifetime + LIFETIME_SLACK_SECONDS) {
    throw new Error(
      `token lifetime (exp − iat) is over the ${maxLifetime} s this server accepts; sign a shorter one`,
    );
  }
  return { deviceId: claims.data.sub, userId: claims.data.uid, expiresAt: claims.data.exp * 1000 };
}

const tokenClaimsSchema = z.object({
  sub: z.uuid().toLowerCase(),
  uid: z.uuid().toLowerCase(),
  exp: z.number(),
  iat: z.number(),
});
