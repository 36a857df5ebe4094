import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { signDeviceToken, verifyDeviceToken } from './device-token.js';

const secret = 'protocol-test-secret-0123456789';
const userId = '0b6d4c1e-8a43-4d4e-9a3b-2f1d8c7e6a5b';
const deviceId = '6f1c2b3a-1d2e-4f5a-8b7c-9d0e1f2a3b4c';

describe('device tokens', () => {
  it('round-trips the identity, with the expiry in epoch milliseconds', async () => {
    const before = Date.now();
    const token = await signDeviceToken({ userId, deviceId }, { secret, expiresIn: '1h' });
    const verified = await verifyDeviceToken(token, secret);
    expect(verified).toMatchObject({ userId, deviceId });
    expect(verified.expiresAt).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 3_600_000);
    expect(verified.expiresAt).toBeLessThanOrEqual(Date.now() + 3_600_000);
  });

  it('refuses another secret and an expired token', async () => {
    const token = await signDeviceToken({ userId, deviceId }, { secret });
    await expect(verifyDeviceToken(token, `${secret}-other`)).rejects.toThrow();
    const expired = await signDeviceToken({ userId, deviceId }, { secret, expiresIn: '-1s' });
    await expect(verifyDeviceToken(expired, secret)).rejects.toThrow(/exp/);
  });

  it('refuses a validly signed token whose ids are not UUIDs', async () => {
    const token = await new SignJWT({ uid: 'alice' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('laptop')
      .setIssuer('ccs')
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(secret));
    await expect(verifyDeviceToken(token, secret)).rejects.toThrow(/UUID/);
  });

  it('refuses a token that never expires, and one that lives longer than the server allows', async () => {
    const forever = await new SignJWT({ uid: userId })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(deviceId)
      .setIssuer('ccs')
      .setIssuedAt()
      .sign(new TextEncoder().encode(secret));
    await expect(verifyDeviceToken(forever, secret)).rejects.toThrow(/exp/);
    const yearLong = await signDeviceToken({ userId, deviceId }, { secret, expiresIn: '365d' });
    await expect(verifyDeviceToken(yearLong, secret)).rejects.toThrow(/lifetime/);
    const hour = await signDeviceToken({ userId, deviceId }, { secret, expiresIn: '2h' });
    await expect(verifyDeviceToken(hour, secret, { maxLifetimeSeconds: 3600 })).rejects.toThrow(
      /lifetime/,
    );
    await expect(verifyDeviceToken(hour, secret)).resolves.toMatchObject({ userId, deviceId });
  });

  it('accepts a lifetime a second over the maximum (the clock read twice), and no more', async () => {
    // jose's builder reads the clock for iat and again for exp: a second turning between the
    // two made about one token in ten thousand a second over its 30 days, and refused.
    const iat = Math.floor(Date.now() / 1000);
    const lasting = (seconds: number) =>
      new SignJWT({ uid: userId })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(deviceId)
        .setIssuer('ccs')
        .setIssuedAt(iat)
        .setExpirationTime(iat + seconds)
        .sign(new TextEncoder().encode(secret));
    const month = 30 * 24 * 3600;
    await expect(verifyDeviceToken(await lasting(month + 1), secret)).resolves.toMatchObject({
      deviceId,
    });
    await expect(verifyDeviceToken(await lasting(month + 2), secret)).rejects.toThrow(/lifetime/);
  });

  it('verifies each token with its own secret only, across more secrets than are kept imported', async () => {
    const secrets = Array.from({ length: 12 }, (_, i) => `${secret}-${i}`);
    const tokens = await Promise.all(
      secrets.map((s) => signDeviceToken({ userId, deviceId }, { secret: s })),
    );
    for (let round = 0; round < 2; round++) {
      for (const [i, token] of tokens.entries()) {
        await expect(verifyDeviceToken(token, secrets[i]!)).resolves.toMatchObject({ deviceId });
        const other = secrets[(i + 1) % secrets.length]!;
        await expect(verifyDeviceToken(token, other)).rejects.toThrow(/signature/);
      }
    }
  });
});
