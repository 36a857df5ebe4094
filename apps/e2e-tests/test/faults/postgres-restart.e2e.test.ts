import { seedConversationScenario } from '@ccs/fixtures';
import { createDatabase } from '@ccs/db';
import { type TestClient } from '@ccs/test-clients';
import { reserveRedisPrefix } from '@ccs/test-env';
import { startSyncServerProcess, type SyncServerProcess } from '@ccs/test-server';
import { describe, inject, it } from 'vitest';
import { devicesOnTwoNodes } from './devices-on-two-nodes.js';
import { reportFault } from './fault-report.js';
import { steadyWriter } from './steady-writer.js';
import { startThrowawayPostgres } from './throwaway-postgres.js';

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
    const nodes: SyncServerProcess[] = [];
    const clients: TestClient[] = [];
    const seeding = createDatabase({ url: postgres.url, maxConnections: 1 });
    try {
      const node = {
        databaseUrl: postgres.url,
        redisUrl: testEnv.redisUrl,
        redisPrefix: await reserveRedisPrefix(testEnv.redisUrl, 'e2e-pg-fault'),
        role: 'gateway' as const,
      };
      nodes.push(await startSyncServerProcess(node), await startSyncServerProcess(node));
      const [nodeA, nodeB] = nodes as [SyncServerProcess, SyncServerProcess];
      const scenario = await seedConversationScenario(seeding.db, {
        jwtSecret: nodeA.jwtSecret,
        devicesPerUser: [2, 1],
      });
      await seeding.close();
      const devices = await devicesOnTwoNodes(scenario, nodeA, nodeB);
      clients.push(...devices.all);
      const { laptop, phone, writer } = devices;

      const { sent, send, refused } = steadyWriter(writer, scenario.conversation.id);
      for (let i = 0; i < 15; i++) await send(i);
      await postgres.crash();
      const crashedAt = Date.now();
      const during = send(15);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      await postgres.start();
      const restartedAt = Date.now();
      await during;
      const firstAckMs = Date.now() - restartedAt;
      for (let i = 16; i < 30; i++) await send(i);

      for (const client of [laptop, phone, writer]) {
        await client.expectReceivedOnce(scenario.stream, sent, { timeout: WAIT_MS });
      }
      await reportFault({
        fault: 'postgres-restart',
        messages: sent.length,
        duringFault: 1,
        devices: 3,
        recoveryMs: { down: restartedAt - crashedAt, firstAckAfterRestart: firstAckMs },
        lost: 0,
        duplicated: 0,
      });
      console.info(`[fault postgres-restart] ${refused()} sends refused while it was down`);
    } finally {
      for (const client of clients) client.close();
      await Promise.all(nodes.map((node) => node.stop()));
      await seeding.close().catch(() => undefined);
      await postgres.close();
    }
  }, 90_000);
});
