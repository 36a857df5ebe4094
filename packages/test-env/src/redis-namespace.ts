import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { REDIS_MARKER_KEY, REDIS_MARKER_TTL_MS } from './leftover-marker.js';

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

/** A fresh test prefix, `ccs-test:<label>:<8 hex>`. */
function testRedisPrefix(label: string): string {
  return `ccs-test:${label.replace(/[^A-Za-z0-9_-]/g, '-')}:${randomBytes(4).toString('hex')}`;
}

/**
 * A test prefix for a server process to use (`CCS_REDIS_PREFIX`), marked alive for 6 h: keys a
 * process leaves under it are swept by a later run (see `sweepTestLeftovers`), never before.
 */
export async function reserveRedisPrefix(url: string, label: string): Promise<string> {
  const prefix = testRedisPrefix(label);
  const redis = new Redis(url, { connectionName: `${prefix}:reserve` });
  try {
    await redis.set(`${prefix}:${REDIS_MARKER_KEY}`, '1', 'PX', REDIS_MARKER_TTL_MS);
  } finally {
    await redis.quit();
  }
  return prefix;
}

/** Opens a namespace; `worker` names the vitest worker (VITEST_POOL_ID) for readable keys. */
export function openRedisNamespace(url: string, worker: string): RedisNamespace {
  const prefix = testRedisPrefix(worker);
  const redis = new Redis(url, { keyPrefix: `${prefix}:`, connectionName: `${prefix}:test` });
  // Alive while marked: a run that dies leaves keys the sweeper removes once the mark expires.
  redis.set(REDIS_MARKER_KEY, '1', 'PX', REDIS_MARKER_TTL_MS).catch(() => undefined);
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
