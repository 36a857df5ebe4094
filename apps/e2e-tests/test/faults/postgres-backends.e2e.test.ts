import { createTestDatabase, reserveRedisPrefix } from '@ccs/test-env';
import { describe, expect, inject, it } from 'vitest';
import { reportFault } from './fault-report.js';
import { steadyWriter } from './steady-writer.js';
import { startTwoNodeChat, type TwoNodeChat } from './two-node-chat.js';

// Fault: every PostgreSQL backend of two gateway processes is terminated at once (a failover
// of a managed database, a pooler restart, an administrator's pg_terminate_backend), twice,
// while devices on both nodes chat. Only the test database's own backends are terminated.

const WAIT_MS = 30_000;

describe('fault: every PostgreSQL backend of the gateways is terminated', () => {
  it('resumes delivery by itself: every acknowledged message once, in order, on every device', async () => {
    const testEnv = inject('ccsTestEnv');
    const database = await createTestDatabase(testEnv, { label: 'pg_backends', maxConnections: 2 });
    let chat: TwoNodeChat | undefined;
    try {
      chat = await startTwoNodeChat(
        {
          databaseUrl: database.url,
          redisUrl: testEnv.redisUrl,
          redisPrefix: await reserveRedisPrefix(testEnv.redisUrl, 'e2e-pg-backends'),
        },
        database.db,
      );
      const { scenario, devices } = chat;
      const { sent, send, refused } = steadyWriter(devices.writer, scenario.conversation.id);
      // The gateways' backends, not this test's pool nor anyone else's database.
      const terminate = async (): Promise<number> => {
        const { rows } = await database.pool.query<{ n: number }>(
          `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
           WHERE datname = current_database() AND application_name LIKE 'ccs-sync-server%'`,
        );
        return rows[0]!.n;
      };

      for (let i = 0; i < 10; i++) await send(i);
      const killedFirst = await terminate();
      let at = Date.now();
      await send(10);
      const firstAck = Date.now() - at;
      for (let i = 11; i < 20; i++) await send(i);
      const killedSecond = await terminate();
      at = Date.now();
      await send(20);
      const secondAck = Date.now() - at;
      for (let i = 21; i < 30; i++) await send(i);

      expect(killedFirst).toBeGreaterThan(0);
      expect(killedSecond).toBeGreaterThan(0);
      for (const client of devices.all) {
        await client.expectReceivedOnce(scenario.stream, sent, { timeout: WAIT_MS });
      }
      await reportFault({
        fault: 'postgres-backends-terminated',
        messages: sent.length,
        duringFault: 2,
        devices: devices.all.length,
        recoveryMs: { firstAckAfterTermination: firstAck, secondAckAfterTermination: secondAck },
        lost: 0,
        duplicated: 0,
      });
      console.info(
        `[fault postgres-backends-terminated] ${killedFirst} and ${killedSecond} backends terminated; ${refused()} sends refused`,
      );
    } finally {
      await chat?.close();
      await database.drop();
    }
  }, 90_000);
});
