import { Redis } from 'ioredis';
import { describe, expect } from 'vitest';
import { openRedisNamespace } from './redis-namespace.js';
import { test } from './test-fixtures.js';

describe('redisNamespace fixture', () => {
  test('puts every key under the test prefix', async ({ redisNamespace }) => {
    await redisNamespace.redis.set('greeting', 'hi');
    // Beside the test's keys, the marker that says the namespace is alive (see the sweeper).
    expect((await redisNamespace.keys()).sort()).toEqual([
      `${redisNamespace.prefix}:ccs-test-env`,
      `${redisNamespace.prefix}:greeting`,
    ]);
  });

  test('gives parallel tests disjoint namespaces and deletes what a test made', async ({
    testEnv,
  }) => {
    const a = openRedisNamespace(testEnv.redisUrl, 'w1');
    const b = openRedisNamespace(testEnv.redisUrl, 'w1');
    const raw = new Redis(testEnv.redisUrl);
    try {
      expect(a.prefix).not.toBe(b.prefix);
      await a.redis.set('k', 'a');
      await b.redis.set('k', 'b');
      expect(await a.redis.get('k')).toBe('a');
      await a.dispose();
      expect(await raw.exists(`${a.prefix}:k`)).toBe(0);
      expect(await raw.get(`${b.prefix}:k`)).toBe('b');
    } finally {
      await b.dispose();
      await raw.quit();
    }
  });
});
