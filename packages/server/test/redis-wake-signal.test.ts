import { Redis } from 'ioredis';
import { pino } from 'pino';
import { describe, expect } from 'vitest';
import { RedisWakeSignal } from '../src/redis-wake-signal.js';
import { test } from './server-fixtures.js';

describe('RedisWakeSignal', () => {
  test('wakes the listeners of every node, once for the writes of one turn', async ({
    testEnv,
    redisNamespace,
  }) => {
    const connections: Redis[] = [];
    const signal = () => {
      const [publisher, subscriber] = [new Redis(testEnv.redisUrl), new Redis(testEnv.redisUrl)];
      connections.push(publisher, subscriber);
      const channel = `${redisNamespace.prefix}:relay-wake`;
      return new RedisWakeSignal({
        publisher,
        subscriber,
        channel,
        logger: pino({ level: 'silent' }),
      });
    };
    const [nodeA, nodeB] = [signal(), signal()];
    try {
      nodeA.start();
      nodeB.start();
      let wakesOnB = 0;
      nodeB.subscribe(() => wakesOnB++);
      const admin = connections[0]!;
      const channel = `${redisNamespace.prefix}:relay-wake`;
      await expect
        .poll(async () => ((await admin.pubsub('NUMSUB', channel)) as [string, number])[1])
        .toBe(2);
      // Redis keeps one connection's publishes in order: a second publish from this burst would
      // arrive before the next one and make the count 3.
      for (let i = 0; i < 5; i++) nodeA.notify();
      await expect.poll(() => wakesOnB).toBe(1);
      nodeA.notify();
      await expect.poll(() => wakesOnB).toBe(2);
    } finally {
      for (const connection of connections) connection.disconnect();
    }
  });
});
