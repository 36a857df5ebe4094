import { randomUUID } from 'node:crypto';
import { listWebhookEndpoints } from '@ccs/db';
import { describe, expect } from 'vitest';
import { MAX_USER_WEBHOOK_ENDPOINTS } from '../src/http/webhook-routes.js';
import { restCall, type RestAnswer } from '@ccs/test-clients';
import { test } from './server-fixtures.js';
import { signedUsers, UNLIMITED } from './rest-client.js';

const ADMIN_TOKEN = 'admin-token-of-the-webhook-tests-0123';

interface Created {
  readonly id: string;
  readonly url: string;
  readonly secret: string;
  readonly createdAt: string;
}

/** The body of an answer, expecting `status`. */
function bodyOf<T>(answer: RestAnswer, status: number): T {
  expect({ status: answer.status, body: answer.body }).toMatchObject({ status });
  return answer.body as T;
}

/** Creates an endpoint at `path` (`/v1/webhooks` or `/v1/admin/webhooks`), expecting 201. */
async function createEndpoint(
  url: string,
  path: '/v1/webhooks' | '/v1/admin/webhooks',
  token: string,
  endpointUrl: string,
): Promise<Created> {
  return bodyOf<Created>(
    await restCall(url, 'POST', path, { token, json: { url: endpointUrl } }),
    201,
  );
}

/** The `{ code }` of an error answer, expecting `status`. */
function codeOf(answer: RestAnswer, status: number): string {
  return bodyOf<{ code: string; message: string }>(answer, status).code;
}

describe('webhook endpoints of a user (/v1/webhooks)', () => {
  test('a user adds, lists and deletes their own endpoints; the secret is shown once', async ({
    startServer,
    database,
  }) => {
    const server = await startServer(UNLIMITED);
    const [alice, bob] = await signedUsers(database.db, [1, 1]);
    const aliceToken = alice!.devices[0]!.token;
    const bobToken = bob!.devices[0]!.token;

    const created = await createEndpoint(
      server.url,
      '/v1/webhooks',
      aliceToken,
      'https://hooks.example.com/ccs?x=1',
    );
    expect(created).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      url: 'https://hooks.example.com/ccs?x=1',
      secret: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      createdAt: expect.any(String),
    });
    expect(Buffer.from(created.secret, 'base64url')).toHaveLength(32);
    expect(Math.abs(Date.parse(created.createdAt) - Date.now())).toBeLessThan(60_000);
    const second = await createEndpoint(
      server.url,
      '/v1/webhooks',
      aliceToken,
      'http://127.0.0.1:9/plain-http',
    );
    expect(second.secret).not.toBe(created.secret);
    // Stored as answered, for alice.
    const stored = await listWebhookEndpoints(database.db, { userId: alice!.user.id });
    expect(stored.map(({ id, secret }) => ({ id, secret }))).toEqual([
      { id: created.id, secret: created.secret },
      { id: second.id, secret: second.secret },
    ]);

    // Listed oldest first, never with the secret.
    const listed = bodyOf<{ endpoints: object[] }>(
      await restCall(server.url, 'GET', '/v1/webhooks', { token: aliceToken }),
      200,
    );
    expect(listed).toEqual({
      endpoints: [
        { id: created.id, url: created.url, createdAt: created.createdAt },
        { id: second.id, url: second.url, createdAt: second.createdAt },
      ],
    });

    // Bob sees none of them and cannot delete them.
    expect(
      bodyOf(await restCall(server.url, 'GET', '/v1/webhooks', { token: bobToken }), 200),
    ).toEqual({ endpoints: [] });
    expect(
      codeOf(
        await restCall(server.url, 'DELETE', `/v1/webhooks/${created.id}`, { token: bobToken }),
        404,
      ),
    ).toBe('not_found');

    // Alice deletes one; a second delete finds nothing.
    const deleted = await restCall(server.url, 'DELETE', `/v1/webhooks/${created.id}`, {
      token: aliceToken,
    });
    expect(deleted.status).toBe(204);
    expect(
      codeOf(
        await restCall(server.url, 'DELETE', `/v1/webhooks/${created.id}`, { token: aliceToken }),
        404,
      ),
    ).toBe('not_found');
    expect(
      codeOf(
        await restCall(server.url, 'DELETE', `/v1/webhooks/${randomUUID()}`, { token: aliceToken }),
        404,
      ),
    ).toBe('not_found');
    expect(
      bodyOf<{ endpoints: { id: string }[] }>(
        await restCall(server.url, 'GET', '/v1/webhooks', { token: aliceToken }),
        200,
      ).endpoints.map(({ id }) => id),
    ).toEqual([second.id]);
  });

  test('requests without a valid device token are refused with unauthorized', async ({
    startServer,
    database,
  }) => {
    const server = await startServer(UNLIMITED);
    const [alice] = await signedUsers(database.db, [1]);
    const token = alice!.devices[0]!.token;
    const json = { url: 'https://hooks.example.com/' };
    for (const [method, path] of [
      ['GET', '/v1/webhooks'],
      ['POST', '/v1/webhooks'],
      ['DELETE', `/v1/webhooks/${randomUUID()}`],
    ] as const) {
      const options = method === 'POST' ? { json } : {};
      expect(codeOf(await restCall(server.url, method, path, options), 401)).toBe('unauthorized');
      expect(
        codeOf(await restCall(server.url, method, path, { ...options, token: `${token}x` }), 401),
      ).toBe('unauthorized');
      expect(
        codeOf(
          await restCall(server.url, method, path, {
            ...options,
            headers: { authorization: token },
          }),
          401,
        ),
      ).toBe('unauthorized');
    }
    expect(await listWebhookEndpoints(database.db, { userId: alice!.user.id })).toEqual([]);
  });

  test('bad urls and bodies are refused with invalid_payload, and nothing is stored', async ({
    startServer,
    database,
  }) => {
    const server = await startServer(UNLIMITED);
    const [alice] = await signedUsers(database.db, [1]);
    const token = alice!.devices[0]!.token;
    const post = (json: unknown) => restCall(server.url, 'POST', '/v1/webhooks', { token, json });

    for (const url of [
      'ftp://hooks.example.com/',
      'javascript:alert(1)',
      'file:///etc/passwd',
      'not a url',
      '',
      `https://hooks.example.com/${'a'.repeat(2049 - 'https://hooks.example.com/'.length)}`,
      42,
    ]) {
      const refused = bodyOf<{ code: string; message: string }>(await post({ url }), 400);
      expect(refused, String(url).slice(0, 40)).toMatchObject({
        code: 'invalid_payload',
        message: expect.stringContaining('url'),
      });
    }
    // The longest URL accepted is 2048 characters.
    const longest = `https://hooks.example.com/${'a'.repeat(2048 - 'https://hooks.example.com/'.length)}`;
    expect(bodyOf<Created>(await post({ url: longest }), 201).url).toBe(longest);

    // No secret of the client's own, no other fields, no body, no JSON.
    expect(codeOf(await post({ url: 'https://hooks.example.com/', secret: 'chosen' }), 400)).toBe(
      'invalid_payload',
    );
    expect(codeOf(await post({}), 400)).toBe('invalid_payload');
    expect(codeOf(await restCall(server.url, 'POST', '/v1/webhooks', { token }), 400)).toBe(
      'invalid_payload',
    );
    expect(
      codeOf(
        await restCall(server.url, 'POST', '/v1/webhooks', {
          token,
          bytes: '{"url":',
          contentType: 'application/json',
        }),
        400,
      ),
    ).toBe('invalid_payload');
    expect(
      codeOf(await restCall(server.url, 'DELETE', '/v1/webhooks/not-a-uuid', { token }), 400),
    ).toBe('invalid_payload');

    const stored = await listWebhookEndpoints(database.db, { userId: alice!.user.id });
    expect(stored.map(({ url }) => url)).toEqual([longest]);
  });

  test(`a user has at most ${MAX_USER_WEBHOOK_ENDPOINTS} endpoints, also when adding them at once`, async ({
    startServer,
    database,
  }) => {
    const server = await startServer(UNLIMITED);
    const [alice, bob] = await signedUsers(database.db, [1, 1]);
    const token = alice!.devices[0]!.token;
    const post = (n: number) =>
      restCall(server.url, 'POST', '/v1/webhooks', {
        token,
        json: { url: `https://hooks.example.com/${n}` },
      });

    for (let n = 0; n < MAX_USER_WEBHOOK_ENDPOINTS - 3; n++) bodyOf(await post(n), 201);
    // 5 at once where 3 fit: 3 are added, 2 refused, and the user ends at the cap.
    const racing = await Promise.all([0, 1, 2, 3, 4].map((n) => post(100 + n)));
    expect(racing.map((answer) => answer.status).sort()).toEqual([201, 201, 201, 409, 409]);
    const stored = await listWebhookEndpoints(database.db, { userId: alice!.user.id });
    expect(stored).toHaveLength(MAX_USER_WEBHOOK_ENDPOINTS);

    const refused = bodyOf<{ code: string; message: string }>(await post(999), 409);
    expect(refused).toEqual({
      code: 'conflict',
      message: expect.stringContaining(`at most ${MAX_USER_WEBHOOK_ENDPOINTS} webhook endpoints`),
    });
    // Another user's cap is their own.
    bodyOf(
      await restCall(server.url, 'POST', '/v1/webhooks', {
        token: bob!.devices[0]!.token,
        json: { url: 'https://hooks.example.com/bob' },
      }),
      201,
    );
    // Deleting one makes room for one.
    expect(
      (await restCall(server.url, 'DELETE', `/v1/webhooks/${stored[0]!.id}`, { token })).status,
    ).toBe(204);
    bodyOf(await post(1000), 201);
    expect(codeOf(await post(1001), 409)).toBe('conflict');
  });
});

describe('admin routes (/v1/admin)', () => {
  test('are absent without CCS_ADMIN_TOKEN', async ({ startServer, database }) => {
    const server = await startServer(UNLIMITED);
    const [alice] = await signedUsers(database.db, [1]);
    for (const token of [undefined, ADMIN_TOKEN, alice!.devices[0]!.token]) {
      for (const [method, path] of [
        ['GET', '/v1/admin/webhooks'],
        ['POST', '/v1/admin/webhooks'],
        ['GET', '/v1/admin/jobs/failed'],
        ['POST', '/v1/admin/jobs/ccs-webhooks/1/retry'],
      ] as const) {
        const answer = await restCall(server.url, method, path, {
          ...(token !== undefined && { token }),
        });
        expect(codeOf(answer, 404), `${method} ${path}`).toBe('not_found');
      }
    }
  });

  test('refuse a missing or wrong token with unauthorized', async ({ startServer, database }) => {
    const server = await startServer({
      ...UNLIMITED,
      CCS_ADMIN_TOKEN: ADMIN_TOKEN,
    });
    const [alice] = await signedUsers(database.db, [1]);
    const wrong = [
      undefined,
      `${ADMIN_TOKEN.slice(0, -1)}x`,
      ADMIN_TOKEN.slice(0, -1),
      `${ADMIN_TOKEN}0`,
      alice!.devices[0]!.token,
    ];
    for (const token of wrong) {
      for (const [method, path] of [
        ['GET', '/v1/admin/webhooks'],
        ['POST', '/v1/admin/webhooks'],
        ['DELETE', `/v1/admin/webhooks/${randomUUID()}`],
        ['GET', '/v1/admin/jobs/failed'],
        ['POST', '/v1/admin/jobs/ccs-webhooks/1/retry'],
        ['GET', '/v1/admin/no-such-route'],
      ] as const) {
        const answer = await restCall(server.url, method, path, {
          ...(token !== undefined && { token }),
          ...(method === 'POST' &&
            path.endsWith('webhooks') && {
              json: { url: 'https://hooks.example.com/' },
            }),
        });
        expect(codeOf(answer, 401), `${method} ${path}`).toBe('unauthorized');
      }
    }
    // The token as a raw header (no Bearer) is refused too.
    expect(
      codeOf(
        await restCall(server.url, 'GET', '/v1/admin/webhooks', {
          headers: { authorization: ADMIN_TOKEN },
        }),
        401,
      ),
    ).toBe('unauthorized');
    expect(await listWebhookEndpoints(database.db, { userId: null })).toEqual([]);
    // With the token, an unknown route is not_found.
    expect(
      codeOf(
        await restCall(server.url, 'GET', '/v1/admin/no-such-route', { token: ADMIN_TOKEN }),
        404,
      ),
    ).toBe('not_found');
  });

  test('manage app-wide endpoints, apart from the users’ own', async ({
    startServer,
    database,
  }) => {
    const server = await startServer({
      ...UNLIMITED,
      CCS_ADMIN_TOKEN: ADMIN_TOKEN,
    });
    const [alice] = await signedUsers(database.db, [1]);
    const userToken = alice!.devices[0]!.token;
    const own = await createEndpoint(
      server.url,
      '/v1/webhooks',
      userToken,
      'https://alice.example.com/',
    );

    const app = await createEndpoint(
      server.url,
      '/v1/admin/webhooks',
      ADMIN_TOKEN,
      'https://app.example.com/notify',
    );
    expect(app).toMatchObject({
      url: 'https://app.example.com/notify',
      secret: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
    });
    const stored = await listWebhookEndpoints(database.db, { userId: null });
    expect(stored.map(({ id, secret }) => ({ id, secret }))).toEqual([
      { id: app.id, secret: app.secret },
    ]);
    expect(
      bodyOf(await restCall(server.url, 'GET', '/v1/admin/webhooks', { token: ADMIN_TOKEN }), 200),
    ).toEqual({ endpoints: [{ id: app.id, url: app.url, createdAt: app.createdAt }] });
    expect(
      bodyOf<{ endpoints: { id: string }[] }>(
        await restCall(server.url, 'GET', '/v1/webhooks', { token: userToken }),
        200,
      ).endpoints.map(({ id }) => id),
    ).toEqual([own.id]);

    expect(
      codeOf(
        await restCall(server.url, 'POST', '/v1/admin/webhooks', {
          token: ADMIN_TOKEN,
          json: { url: 'gopher://app.example.com/' },
        }),
        400,
      ),
    ).toBe('invalid_payload');
    // Neither side deletes the other's endpoint.
    expect(
      codeOf(
        await restCall(server.url, 'DELETE', `/v1/admin/webhooks/${own.id}`, {
          token: ADMIN_TOKEN,
        }),
        404,
      ),
    ).toBe('not_found');
    expect(
      codeOf(
        await restCall(server.url, 'DELETE', `/v1/webhooks/${app.id}`, { token: userToken }),
        404,
      ),
    ).toBe('not_found');
    expect(
      (await restCall(server.url, 'DELETE', `/v1/admin/webhooks/${app.id}`, { token: ADMIN_TOKEN }))
        .status,
    ).toBe(204);
    expect(await listWebhookEndpoints(database.db, { userId: null })).toEqual([]);
    expect(await listWebhookEndpoints(database.db, { userId: alice!.user.id })).toHaveLength(1);
  });

  test('validate the failed-jobs query and name unknown queues and jobs', async ({
    startServer,
  }) => {
    // A gateway alone opens the deployment's queues to look at them (no worker runs here).
    const server = await startServer({ CCS_ADMIN_TOKEN: ADMIN_TOKEN });
    const get = (query: string) =>
      restCall(server.url, 'GET', `/v1/admin/jobs/failed${query}`, { token: ADMIN_TOKEN });
    expect(bodyOf(await get(''), 200)).toEqual({ jobs: [] });
    expect(bodyOf(await get('?queue=ccs-webhooks&limit=500'), 200)).toEqual({ jobs: [] });
    // Retention is off in these servers: its queue is not one of the deployment's.
    expect(codeOf(await get('?queue=ccs-retention&limit=1'), 404)).toBe('not_found');
    const unknown = bodyOf<{ code: string; message: string }>(await get('?queue=nope'), 404);
    expect(unknown).toEqual({
      code: 'not_found',
      message: expect.stringContaining('ccs-webhooks'),
    });
    for (const query of ['?limit=0', '?limit=501', '?limit=1.5', '?limit=ten']) {
      expect(codeOf(await get(query), 400), query).toBe('invalid_payload');
    }
    const retry = (queue: string, id: string) =>
      restCall(server.url, 'POST', `/v1/admin/jobs/${queue}/${id}/retry`, { token: ADMIN_TOKEN });
    expect(codeOf(await retry('nope', '1'), 404)).toBe('not_found');
    expect(codeOf(await retry('ccs-webhooks', 'no-such-job'), 404)).toBe('not_found');
    const notRetry = await restCall(server.url, 'POST', '/v1/admin/jobs/ccs-webhooks/1/nope', {
      token: ADMIN_TOKEN,
    });
    expect(codeOf(notRetry, 404)).toBe('not_found');
  });
});
