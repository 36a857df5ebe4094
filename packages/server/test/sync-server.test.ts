import { seedConversationScenario } from '@ccs/fixtures';
import { MAX_FRAME_BYTES } from '@ccs/protocol';
import { describe, expect } from 'vitest';
import { TEST_SERVER_JWT_SECRET as jwtSecret } from '@ccs/test-server';
import { test } from './server-fixtures.js';

describe('sync-server HTTP', () => {
  test('answers /healthz and /readyz when PostgreSQL and Redis are up', async ({ startServer }) => {
    const server = await startServer();
    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(200);
    let reconnects = 0;
    server.redis.on('reconnecting', () => reconnects++);
    const ready = await fetch(`${server.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({
      status: 'ready',
      checks: { postgres: 'ok', redis: 'ok' },
    });
  });

  test('is not ready, naming Redis, when Redis cannot be reached', async ({ startServer }) => {
    // Port 1 on loopback: nothing listens there, so the connection is refused at once.
    // Retention (BullMQ) is on: starting must not wait for Redis.
    const server = await startServer({
      REDIS_URL: 'redis://127.0.0.1:1',
      CCS_RETENTION_HOURS: '1',
    });
    let reconnects = 0;
    server.redis.on('reconnecting', () => reconnects++);
    const ready = await fetch(`${server.url}/readyz`);
    expect(ready.status).toBe(503);
    const body = (await ready.json()) as { checks: Record<string, string> };
    expect(body.checks['postgres']).toBe('ok');
    expect(body.checks['redis']).not.toBe('ok');
    // ioredis gives up a queued command after 20 reconnects (about 10 s); nothing may reject
    // unhandled then (vitest fails the run on an unhandled rejection). The health client began
    // reconnecting last (at /readyz), so once it has reconnected 21 times every client has.
    await expect.poll(() => reconnects, { timeout: 15_000, interval: 200 }).toBeGreaterThan(20);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  }, 20_000);

  test('exports connected sockets, deliveries and commit-to-emit latency on /metrics', async ({
    server,
    clients,
    database,
  }) => {
    const scenario = await seedConversationScenario(database.db, {
      jwtSecret,
      devicesPerUser: [1, 1],
    });
    const [alice, bob] = await Promise.all(
      scenario.users.map(({ devices }) => clients.connect(devices[0]!.token)),
    );
    await bob!.emitWithAck('subscribe', { stream: scenario.stream });
    await alice!.emitWithAck('message:send', {
      conversationId: scenario.conversation.id,
      clientId: 'm1',
      body: 'metered',
    });
    await bob!.waitFor('change');
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/^ccs_connected_sockets 2$/m);
    expect(metrics).toMatch(/^ccs_changes_delivered_total 1$/m);
    expect(metrics).toMatch(/^ccs_commit_to_emit_seconds_count 1$/m);
  });
});

describe('sync-server limits', () => {
  test('closes a socket that sends a frame over the size limit', async ({ clients, database }) => {
    const scenario = await seedConversationScenario(database.db, {
      jwtSecret,
      devicesPerUser: [1],
    });
    const client = await clients.connect(scenario.users[0]!.devices[0]!.token);
    const disconnected = new Promise<string>((resolve) =>
      client.socket.once('disconnect', resolve),
    );
    client.socket.emit(
      'message:send',
      {
        conversationId: scenario.conversation.id,
        clientId: 'big',
        body: 'x'.repeat(MAX_FRAME_BYTES),
      },
      () => undefined,
    );
    expect(await disconnected).toBe('transport close');
    const { rows } = await database.pool.query('SELECT count(*)::int AS n FROM messages');
    expect(rows[0]).toEqual({ n: 0 });
  });
});
