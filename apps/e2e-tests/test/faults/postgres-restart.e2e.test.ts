import { createDatabase } from '@ccs/db';
import { reserveRedisPrefix } from '@ccs/test-env';
import { describe, expect, inject, it } from 'vitest';
import { reportFault } from './fault-report.js';
import { steadyWriter } from './steady-writer.js';
import { startThrowawayPostgres } from './throwaway-postgres.js';
import { startTwoNodeChat, type TwoNodeChat } from './two-node-chat.js';

// Fault: PostgreSQL itself crashes (every backend killed at once, `pg_ctl stop -m immediate`)
// while devices on two gateways chat, and starts again (crash recovery). Sends during the
// outage are refused and retried by the device with the same client id; once PostgreSQL is
// back, every acknowledged message reaches every device once and in order, by itself. The
// cluster is the test's own (initdb in a temp dir): the machine's shared one is never touched.

const WAIT_MS = 30_000;

describe('fault: PostgreSQL crashes and restarts', () => {
  it('resumes delivery by itself: every acknowledged message once, in order, on every device', async () => {
    const testEnv = inject('ccsTestEnv');
    const postgres = await startThrowawayPostgres();
    const seeding = createDatabase({ url: postgres.url, maxConnections: 1 });
    let chat: TwoNodeChat | undefined;
    try {
      chat = await startTwoNodeChat(
        {
          databaseUrl: postgres.url,
          redisUrl: testEnv.redisUrl,
          redisPrefix: await reserveRedisPrefix(testEnv.redisUrl, 'e2e-pg-fault'),
        },
        seeding.db,
      );
      await seeding.close();
      const { scenario, devices } = chat;
      const { sent, send, refused } = steadyWriter(devices.writer, scenario.conversation.id);
      for (let i = 0; i < 15; i++) await send(i);
      await postgres.crash();
      const crashedAt = Date.now();
      const during = send(15);
      // The device has seen the outage (its send refused, and refused again) before the restart.
      await expect.poll(refused, { timeout: WAIT_MS, interval: 20 }).toBeGreaterThanOrEqual(2);
      await postgres.start();
      const restartedAt = Date.now();
      await during;
      const firstAckMs = Date.now() - restartedAt;
      for (let i = 16; i < 30; i++) await send(i);

      for (const client of devices.all) {
        await client.expectReceivedOnce(scenario.stream, sent, { timeout: WAIT_MS });
      }
      await reportFault({
        fault: 'postgres-restart',
        messages: sent.length,
        duringFault: 1,
        devices: devices.all.length,
        recoveryMs: { down: restartedAt - crashedAt, firstAckAfterRestart: firstAckMs },
        lost: 0,
        duplicated: 0,
      });
      console.info(`[fault postgres-restart] ${refused()} sends refused while it was down`);
    } finally {
      await chat?.close();
      await seeding.close().catch(() => undefined);
      await postgres.close();
    }
  }, 90_000);
});
