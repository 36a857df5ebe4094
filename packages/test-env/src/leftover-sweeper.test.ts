import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import { describe, expect } from 'vitest';
import { markDatabaseSql } from './leftover-marker.js';
import { sweepTestLeftovers } from './leftover-sweeper.js';
import { reserveRedisPrefix } from './redis-namespace.js';
import { quoteIdentifier } from './test-env-info.js';
import { test } from './test-fixtures.js';

const HOUR = 3_600_000;

async function databaseNames(admin: pg.Client, like: string): Promise<string[]> {
  const { rows } = await admin.query<{ datname: string }>(
    'SELECT datname FROM pg_database WHERE datname LIKE $1 ORDER BY datname',
    [like],
  );
  return rows.map((row) => row.datname);
}

describe('sweepTestLeftovers', () => {
  test("drops only test-env's own leftovers that are old enough and unused", async ({
    testEnv,
  }) => {
    const tag = randomBytes(3).toString('hex');
    const admin = new pg.Client({ connectionString: testEnv.adminUrl });
    await admin.connect();
    const made: string[] = [];
    const make = async (name: string, markedHoursAgo?: number): Promise<string> => {
      await admin.query(`CREATE DATABASE ${quoteIdentifier(name)}`);
      made.push(name);
      if (markedHoursAgo !== undefined) {
        await admin.query(
          markDatabaseSql(admin, name, new Date(Date.now() - markedHoursAgo * HOUR)),
        );
      }
      return name;
    };
    let inUse: pg.Client | undefined;
    try {
      const oldSpare = await make(`ccs_spare_sw${tag}_a`, 2);
      const oldKept = await make(`ccs_test_sw${tag}_old`, 25);
      const oldTemplate = await make(`ccs_template_sw${tag}`, 2);
      await admin.query(`ALTER DATABASE ${quoteIdentifier(oldTemplate)} WITH IS_TEMPLATE true`);
      const freshKept = await make(`ccs_test_sw${tag}_new`, 0);
      const freshSpare = await make(`ccs_spare_sw${tag}_b`, 0.5);
      const unmarked = await make(`ccs_test_sw${tag}_unmarked`);
      const busy = await make(`ccs_test_sw${tag}_busy`, 25);
      inUse = new pg.Client({
        connectionString: testEnv.adminUrl.replace(/\/[^/]*$/, `/${busy}`),
      });
      await inUse.connect();

      const dry = await sweepTestLeftovers({ adminUrl: testEnv.adminUrl, dryRun: true });
      expect(dry.databases).toEqual(expect.arrayContaining([oldSpare, oldKept, oldTemplate]));
      expect(await databaseNames(admin, `%sw${tag}%`)).toHaveLength(made.length);

      const swept = await sweepTestLeftovers({ adminUrl: testEnv.adminUrl });
      const mine = swept.databases.filter((name) => name.includes(`sw${tag}`)).sort();
      expect(mine).toEqual([oldSpare, oldTemplate, oldKept].sort());
      expect(await databaseNames(admin, `%sw${tag}%`)).toEqual(
        [busy, freshSpare, freshKept, unmarked].sort(),
      );
    } finally {
      await inUse?.end();
      for (const name of made) {
        await admin
          .query(`ALTER DATABASE ${quoteIdentifier(name)} WITH IS_TEMPLATE false`)
          .catch(() => undefined);
        await admin.query(`DROP DATABASE IF EXISTS ${quoteIdentifier(name)}`);
      }
      await admin.end();
    }
  });

  test('removes the keys of test prefixes whose mark is gone, and nothing else', async ({
    testEnv,
  }) => {
    const redis = new Redis(testEnv.redisUrl);
    const tag = randomBytes(4).toString('hex');
    const alive = await reserveRedisPrefix(testEnv.redisUrl, 'sweeptest');
    const dead = `ccs-test:sweeptest:${tag}`;
    const foreign = `sweeptest-foreign:${tag}`;
    try {
      await redis.set(`${alive}:bull:meta`, '1');
      await redis.set(`${dead}:bull:meta`, '1');
      await redis.set(`${dead}:presence:{conversation:1}`, '1');
      await redis.set(`${foreign}:key`, '1');

      const swept = await sweepTestLeftovers({
        adminUrl: testEnv.adminUrl,
        redisUrl: testEnv.redisUrl,
      });
      expect(swept.redisPrefixes).toContain(dead);
      expect(swept.redisPrefixes).not.toContain(alive);
      expect(await redis.exists(`${dead}:bull:meta`, `${dead}:presence:{conversation:1}`)).toBe(0);
      expect(await redis.exists(`${alive}:bull:meta`, `${alive}:ccs-test-env`)).toBe(2);
      expect(await redis.exists(`${foreign}:key`)).toBe(1);
    } finally {
      await redis.del(`${alive}:bull:meta`, `${alive}:ccs-test-env`, `${foreign}:key`);
      await redis.quit();
    }
  });
});
