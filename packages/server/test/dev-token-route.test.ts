import { randomUUID } from 'node:crypto';
import { findDevice, findUser } from '@ccs/db';
import { restCall, TestClient } from '@ccs/test-clients';
import { describe, expect } from 'vitest';
import { test } from './server-fixtures.js';

describe('POST /v1/dev/tokens', () => {
  test('POST /v1/dev/tokens mints outside production and answers bad requests with a code', async ({
    startServer,
  }) => {
    const server = await startServer();
    const post = (body: unknown) => restCall(server.url, 'POST', '/v1/dev/tokens', { json: body });
    const [user, device] = [randomUUID(), randomUUID()];
    const ok = await post({ user, device, create: true, expiresIn: '10m' });
    expect(ok.status).toBe(200);
    const minted = ok.body as { token: string; deviceId: string; expiresAt: string };
    expect(minted.deviceId).toBe(device);
    expect(Date.parse(minted.expiresAt) - Date.now()).toBeLessThanOrEqual(600_000);
    const client = await TestClient.connect({ url: server.url, token: minted.token });
    client.close();

    const bad = await post({ user: 'nope', device });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({
      code: 'invalid_payload',
      message: expect.stringContaining('user'),
    });
    const missing = await post({ user: randomUUID(), device });
    expect(missing.status).toBe(404);
    const foreign = await post({ user: randomUUID(), device, create: true });
    expect(foreign.body).toMatchObject({ code: 'conflict' });

    const production = await startServer({
      NODE_ENV: 'production',
      CCS_JWT_SECRET: 'y'.repeat(32),
    });
    const refused = await restCall(production.url, 'POST', '/v1/dev/tokens', {
      json: { user, device },
    });
    expect(refused.status).toBe(404);
  });

  test('first sign-ins of one new user on several devices at once all get a token', async ({
    server,
    database,
  }) => {
    const user = randomUUID();
    const devices = Array.from({ length: 6 }, () => randomUUID());
    // Two requests for each device: the same user and the same device are made concurrently.
    const answers = await Promise.all(
      [...devices, ...devices].map((device) =>
        restCall(server.url, 'POST', '/v1/dev/tokens', { json: { user, device, create: true } }),
      ),
    );
    expect(answers.map((answer) => [answer.status, answer.body])).toEqual(
      answers.map(() => [200, expect.objectContaining({ userId: user })]),
    );
    expect(await findUser(database.db, user)).toMatchObject({ id: user });
    for (const device of devices) {
      expect(await findDevice(database.db, device)).toMatchObject({ userId: user });
    }
  });
});
