import { createHmac } from 'node:crypto';
import { SignJWT, type JWTPayload } from 'jose';
import { describe, expect, it } from 'vitest';
import { quickVerifiedClaims } from './device-token-fast.js';
import { signDeviceToken, verifyDeviceToken } from './device-token.js';

const secret = 'protocol-test-secret-0123456789';
const userId = '0b6d4c1e-8a43-4d4e-9a3b-2f1d8c7e6a5b';
const deviceId = '6f1c2b3a-1d2e-4f5a-8b7c-9d0e1f2a3b4c';
const nowSeconds = () => Math.floor(Date.now() / 1000);
const hmacSha256 = (key: string, data: string) => createHmac('sha256', key).update(data).digest();

/** A token of `claims` under `header`, signed with `key` (HS256 unless the header says else). */
function signed(
  header: Record<string, unknown>,
  configure: (jwt: SignJWT) => SignJWT = (jwt) => jwt,
  claims: JWTPayload = { uid: userId },
  key = secret,
): Promise<string> {
  const jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', ...header })
    .setSubject(deviceId)
    .setIssuer('ccs')
    .setIssuedAt()
    .setExpirationTime('1h');
  return configure(jwt).sign(new TextEncoder().encode(key));
}

/** A token signed by hand (jose refuses to sign some headers), HS256 with `secret`. */
function handSigned(header: Record<string, unknown>, claims: object): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const input = `${part(header)}.${part(claims)}`;
  return `${input}.${hmacSha256(secret, input).toString('base64url')}`;
}

async function outcome(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value) => ({ ok: value }),
    (error: Error) => ({ error: error.message }),
  );
}

describe('device tokens verified with a synchronous HMAC', () => {
  it('accept and refuse exactly what jose does, with the same errors', async () => {
    const valid = await signDeviceToken({ userId, deviceId }, { secret, expiresIn: '1h' });
    const tampered = `${valid.slice(0, -1)}${valid.endsWith('A') ? 'B' : 'A'}`;
    const tokens = {
      valid,
      typJwt: await signed({ typ: 'JWT' }),
      withKid: await signed({ kid: 'k1' }),
      otherSecret: await signDeviceToken({ userId, deviceId }, { secret: `${secret}-other` }),
      expired: await signDeviceToken({ userId, deviceId }, { secret, expiresIn: '-1s' }),
      notYet: await signed({}, (jwt) => jwt.setNotBefore('1h')),
      otherIssuer: await signed({}, (jwt) => jwt.setIssuer('someone')),
      hs512: await signed({ alg: 'HS512' }),
      critical: handSigned(
        { alg: 'HS256', crit: ['exp'], exp: 1 },
        { uid: userId, sub: deviceId, iss: 'ccs', iat: nowSeconds(), exp: nowSeconds() + 60 },
      ),
      handValid: handSigned(
        { alg: 'HS256' },
        { uid: userId, sub: deviceId, iss: 'ccs', iat: nowSeconds(), exp: nowSeconds() + 60 },
      ),
      stringExp: handSigned(
        { alg: 'HS256' },
        { uid: userId, sub: deviceId, iss: 'ccs', iat: nowSeconds(), exp: `${nowSeconds() + 60}` },
      ),
      arrayClaims: handSigned({ alg: 'HS256' }, [1, 2]),
      algNone: handSigned(
        { alg: 'none' },
        { uid: userId, sub: deviceId, iss: 'ccs', iat: nowSeconds(), exp: nowSeconds() + 60 },
      ),
      noIat: await signed({}, (jwt) => jwt.setIssuedAt(undefined as unknown as number)),
      yearLong: await signDeviceToken({ userId, deviceId }, { secret, expiresIn: '365d' }),
      notUuids: await signed({}, (jwt) => jwt.setSubject('laptop')),
      tampered,
      twoParts: valid.split('.').slice(0, 2).join('.'),
      fourParts: `${valid}.x`,
      junkInSignature: `${valid.slice(0, -2)}*${valid.slice(-1)}`,
      garbage: 'not a token',
      empty: '',
    };
    for (const [name, token] of Object.entries(tokens)) {
      const [withJose, withHmac] = [
        await outcome(verifyDeviceToken(token, secret)),
        await outcome(verifyDeviceToken(token, secret, { hmacSha256 })),
      ];
      expect({ name, ...(withHmac as object) }).toEqual({ name, ...(withJose as object) });
    }
    expect(await verifyDeviceToken(valid, secret, { hmacSha256 })).toMatchObject({
      userId,
      deviceId,
    });
  });

  it('takes the quick path for the tokens this server signs, and leaves the rest to jose', async () => {
    const now = { issuer: 'ccs', nowSeconds: Math.floor(Date.now() / 1000) };
    const valid = await signDeviceToken({ userId, deviceId }, { secret });
    expect(quickVerifiedClaims(valid, secret, hmacSha256, now)).toMatchObject({
      sub: deviceId,
      uid: userId,
      iss: 'ccs',
    });
    expect(quickVerifiedClaims(valid, `${secret}-other`, hmacSha256, now)).toBeUndefined();
    expect(quickVerifiedClaims(await signed({ kid: 'k1' }), secret, hmacSha256, now)).toBe(
      undefined,
    );
    expect(
      quickVerifiedClaims(valid, secret, hmacSha256, { ...now, nowSeconds: now.nowSeconds + 4e6 }),
    ).toBeUndefined();
  });
});
