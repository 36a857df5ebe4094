import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

/**
 * A Redis namespace of one test: a prefix for every key, BullMQ queue and socket.io adapter
 * channel the test makes, so parallel tests share one Redis without seeing each other (a
 * logical db number would not isolate pub/sub; a prefix does).
 */
export interface RedisNamespace {
  /** e.g. `ccs-test:3:9f2c1a7e` (worker id, then random). */
  readonly prefix: string;
  /** A client whose keys are all under `prefix:` (ioredis `keyPrefix`). */
  readonly redis: Redis;
  /** Keys under the prefix, for assertions. */
  keys(): Promise<string[]>;
  /** Deletes every key under the prefix, then disconnects. */
  dispose(): Promise<void>;
}

/** Opens a namespace; `worker` names the vitest worker (VITEST_POOL_ID) for readable keys. */
export function openRedisNamespace(url: string, worker: string): RedisNamespace {
  const prefix = `ccs-test:${worker}:${randomBytes(4).toString('hex')}`;
  const redis = new Redis(url, { keyPrefix: `${prefix}:`, connectionName: `${prefix}:test` });
  const admin = (): Redis => new Redis(url, { connectionName: `${prefix}:cleanup` });
  const keys = async (): Promise<string[]> => {
    const client = admin();
    try {
      const found: string[] = [];
      let cursor = '0';
      do {
        const [next, batch] = await client.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
        cursor = next;
        found.push(...batch);
      } while (cursor !== '0');
      return found;
    } finally {
      await client.quit();
    }
  };
  return {
    prefix,
    redis,
    keys,
    async dispose() {
      const doomed = await keys();
      const client = admin();
      try {
        for (let i = 0; i < doomed.length; i += 500) await client.del(...doomed.slice(i, i + 500));
      } finally {
        // quit (not disconnect): waits for the server's reply, so no socket or timer outlives it.
        await Promise.all([client.quit(), redis.quit()]);
      }
    },
  };
}
