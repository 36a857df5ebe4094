import { randomBytes } from 'node:crypto';
import { presenceMembers } from '@ccs/test-clients';
import { createTestDatabase } from '@ccs/test-env';
import { describe, expect, inject, it } from 'vitest';
import { reportFault } from './fault-report.js';
import { steadyWriter } from './steady-writer.js';
import { startThrowawayRedis } from './throwaway-redis.js';
import { startTwoNodeChat, type TwoNodeChat } from './two-node-chat.js';

// Fault: Redis crashes (SIGKILL, nothing saved) while devices on two gateways chat, and comes
// back empty. Committed changes never go through Redis, so delivery must go on through the
// outage with nothing lost or doubled; what Redis carries (presence across nodes, wake-ups)
// must come back by itself. The Redis is the test's own: the shared one is never touched.

const WAIT_MS = 20_000;

describe('fault: Redis crashes and restarts empty', () => {
  it('delivers every message once and in order through the outage; presence recovers by itself', async () => {
    const testEnv = inject('ccsTestEnv');
    const database = await createTestDatabase(testEnv, { label: 'redis_fault', maxConnections: 2 });
    const redis = await startThrowawayRedis();
    let chat: TwoNodeChat | undefined;
    try {
      chat = await startTwoNodeChat(
        {
          databaseUrl: database.url,
          redisUrl: redis.url,
          redisPrefix: `ccs-test:e2e-redis-fault:${randomBytes(4).toString('hex')}`,
          // Presence renews every second here, so its recovery is quick to observe.
          env: { CCS_PRESENCE_HEARTBEAT_MS: '1000', CCS_PRESENCE_TTL_MS: '3000' },
        },
        database.db,
      );
      const { scenario, devices } = chat;
      const aliceDevices = scenario.users[0]!.devices.map((device) => device.id).sort();
      const onlineOnB = async () =>
        (await presenceMembers(devices.writer, scenario.stream))
          .map((member) => member.deviceId)
          .filter((id) => aliceDevices.includes(id))
          .sort();
      await expect.poll(onlineOnB, { timeout: WAIT_MS, interval: 50 }).toEqual(aliceDevices);

      const { sent, send } = steadyWriter(devices.writer, scenario.conversation.id);
      for (let i = 0; i < 15; i++) await send(i);
      await redis.kill();
      for (let i = 15; i < 35; i++) await send(i);
      await redis.start();
      const restartedAt = Date.now();
      for (let i = 35; i < 50; i++) await send(i);

      for (const client of devices.all) {
        await client.expectReceivedOnce(scenario.stream, sent, { timeout: WAIT_MS });
      }
      // Redis came back empty: the nodes' heartbeats put every online device back.
      await expect.poll(onlineOnB, { timeout: WAIT_MS, interval: 50 }).toEqual(aliceDevices);
      await reportFault({
        fault: 'redis-restart',
        messages: sent.length,
        duringFault: 20,
        devices: devices.all.length,
        recoveryMs: { presenceBackAfterRestart: Date.now() - restartedAt },
        lost: 0,
        duplicated: 0,
      });
    } finally {
      await chat?.close();
      await redis.close();
      await database.drop();
    }
  }, 60_000);
});
