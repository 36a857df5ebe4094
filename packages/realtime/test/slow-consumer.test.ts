import { StallingClient, TestClient } from '@ccs/test-clients';
import { Registry } from 'prom-client';
import { describe, expect, onTestFinished } from 'vitest';
import { createGatewayMetrics } from '../src/gateway-metrics.js';
import { devicesOf, test } from './gateway-fixtures.js';
import { startGatewayHarness } from './gateway-harness.js';

const BODY_CHARS = 16 * 1024;

describe('slow consumers', () => {
  test(
    'a socket that stops reading is told to resync and dropped; the rest of the room gets everything',
    { timeout: 30_000 },
    async ({ database, scenario }) => {
      const registry = new Registry();
      const harness = await startGatewayHarness(database, {
        metrics: createGatewayMetrics(registry),
        limits: { outboundBufferBytes: 512 * 1024 },
      });
      onTestFinished(() => harness.close());
      const { aliceLaptop, bobPhone } = devicesOf(scenario);
      const stuck = await StallingClient.connect(harness.url, aliceLaptop.token, 5000);
      onTestFinished(() => stuck.close());
      expect(await stuck.emitWithAck('subscribe', { stream: scenario.stream }, 5000)).toMatchObject(
        {
          ok: true,
        },
      );
      stuck.pause();
      const reader = new TestClient({ url: harness.url, token: bobPhone.token });
      onTestFinished(() => reader.close());
      await reader.open();
      await reader.emitWithAck('subscribe', { stream: scenario.stream });

      // 24 MB of messages, 100 per transaction: far more than the kernel's socket buffers and
      // the 512 KB limit, in bursts a reading client drains in time.
      const count = 1500;
      for (let first = 0; first < count; first += 100) {
        await database.pool.query(
          `INSERT INTO messages (conversation_id, author_id, device_id, client_id, body)
         SELECT $1, $2, $3, 'bulk-' || i, repeat('x', $4) FROM generate_series($5::int, $5 + 99) AS i`,
          [scenario.conversation.id, scenario.users[0]!.user.id, aliceLaptop.id, BODY_CHARS, first],
        );
      }

      const received = await reader.waitForCount('change', count, {
        predicate: (c) => c.kind === 'message.created',
        timeout: 30_000,
      });
      const seqs = received.map(([change]) => change.seq);
      expect(seqs).toEqual(Array.from({ length: count }, (_, i) => seqs[0]! + i));

      // The stuck socket is gone from the server (its room and its session).
      await expect.poll(() => harness.io.sockets.sockets.size, { timeout: 5000 }).toBe(1);
      const ended = await registry.getSingleMetricAsString('ccs_sessions_ended_total');
      expect(ended).toContain('ccs_sessions_ended_total{reason="slow_consumer"} 1');

      // Reading again, it finds the reasons after what was queued for it.
      stuck.resume();
      expect(await stuck.waitForEvent('resync_required', 10_000)).toEqual({
        stream: scenario.stream,
        reason: 'slow_consumer',
        head: expect.any(Number),
      });
      expect(await stuck.waitForEvent('session_ended', 10_000)).toMatchObject({
        reason: 'slow_consumer',
      });
    },
  );

  test('a socket that stops reading during its replay is dropped too, not waited for', async ({
    database,
    scenario,
  }) => {
    const registry = new Registry();
    const harness = await startGatewayHarness(database, {
      metrics: createGatewayMetrics(registry),
      limits: { outboundBufferBytes: 512 * 1024, slowConsumerGraceMs: 200 },
    });
    onTestFinished(() => harness.close());
    const { aliceLaptop } = devicesOf(scenario);
    // A backlog of 10 MB, far more than the kernel's socket buffers.
    await database.pool.query(
      `INSERT INTO messages (conversation_id, author_id, device_id, client_id, body)
       SELECT $1, $2, $3, 'backlog-' || i, repeat('x', $4) FROM generate_series(1, 600) AS i`,
      [scenario.conversation.id, scenario.users[0]!.user.id, aliceLaptop.id, BODY_CHARS],
    );
    const stuck = await StallingClient.connect(harness.url, aliceLaptop.token, 5000);
    onTestFinished(() => stuck.close());
    const subscribing = stuck.emitWithAck(
      'subscribe',
      { stream: scenario.stream, since: 0 },
      10_000,
    );
    stuck.pause();

    await expect
      .poll(() => registry.getSingleMetricAsString('ccs_sessions_ended_total'), { timeout: 8000 })
      .toContain('ccs_sessions_ended_total{reason="slow_consumer"} 1');
    await expect.poll(() => harness.io.sockets.sockets.size, { timeout: 5000 }).toBe(0);
    stuck.resume();
    await subscribing.catch(() => undefined);
  });
});
