import { randomBytes } from 'node:crypto';
import { readChanges, readStreamPosition } from '@ccs/db';
import { createMessage, seedConversationScenario } from '@ccs/fixtures';
import { test } from '@ccs/test-env/vitest';
import { Redis } from 'ioredis';
import { describe, expect } from 'vitest';
import { applyRetention } from '../src/retention.js';
import { startRetentionWorker } from '../src/retention-worker.js';

const jwtSecret = 'jobs-test-secret-0123456789';

describe('applyRetention', () => {
  test('removes changes older than the policy and records what it trimmed', async ({
    database,
  }) => {
    const scenario = await seedConversationScenario(database.db, {
      jwtSecret,
      devicesPerUser: [1],
    });
    const device = scenario.users[0]!.devices[0]!;
    for (let i = 0; i < 5; i++) await createMessage(database.db, device, scenario.conversation.id);
    const { head } = await readStreamPosition(database.db, scenario.stream);
    const { rows } = await database.pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM change_log',
    );
    // Nothing is old enough under a one-hour policy.
    expect(await applyRetention(database.db, { maxAgeMs: 3_600_000 })).toBe(0);
    // Everything is, an hour from now; small batches loop until done.
    const later = new Date(Date.now() + 3_600_000 + 1000);
    expect(await applyRetention(database.db, { maxAgeMs: 3_600_000, batchSize: 2 }, later)).toBe(
      rows[0]!.n,
    );
    expect(await readChanges(database.db, scenario.stream, 0, 100)).toEqual([]);
    expect(await readStreamPosition(database.db, scenario.stream)).toEqual({
      head,
      trimmedTo: head,
    });
  });
});

describe('startRetentionWorker', () => {
  test('runs retention through BullMQ under its own key prefix, and cleans up', async ({
    database,
    testEnv,
  }) => {
    const prefix = `test-${randomBytes(4).toString('hex')}`;
    const retention = startRetentionWorker({
      db: database.db,
      redisUrl: testEnv.redisUrl,
      prefix,
      policy: { maxAgeMs: 0 },
      everyMs: 3_600_000,
    });
    const redis = new Redis(testEnv.redisUrl);
    try {
      await retention.scheduled;
      const scenario = await seedConversationScenario(database.db, {
        jwtSecret,
        devicesPerUser: [1],
      });
      const { head } = await readStreamPosition(database.db, scenario.stream);
      // The scheduler's first tick may already have run; either way this run leaves nothing.
      expect(await retention.runNow()).toBeGreaterThanOrEqual(0);
      expect(await readChanges(database.db, scenario.stream, 0, 100)).toEqual([]);
      expect(await readStreamPosition(database.db, scenario.stream)).toEqual({
        head,
        trimmedTo: head,
      });
      const schedulers = await retention.queue.getJobSchedulers();
      expect(schedulers.map((scheduler) => scheduler.key)).toEqual(['trim-change-log']);
      expect((await redis.keys(`${prefix}:*`)).length).toBeGreaterThan(0);
    } finally {
      await retention.queue.obliterate({ force: true });
      await retention.close();
      expect(await redis.keys(`${prefix}:*`)).toEqual([]);
      redis.disconnect();
    }
  });
});
