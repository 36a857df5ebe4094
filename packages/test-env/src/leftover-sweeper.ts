import { migrationsHash } from '@ccs/db';
import { Redis } from 'ioredis';
import pg from 'pg';
import { markedAt, REDIS_MARKER_KEY } from './leftover-marker.js';
import { quoteIdentifier } from './test-env-info.js';

/** Options of {@link sweepTestLeftovers}. */
export interface SweepOptions {
  /** A maintenance database of the server (e.g. `postgres://…/postgres`). */
  readonly adminUrl: string;
  /** Where test prefixes live; Redis is not swept without it. */
  readonly redisUrl?: string;
  /** Databases of failed tests (kept to inspect) older than this go. @default 24 h */
  readonly keptMaxAgeMs?: number;
  /** Spare clones (a crashed run's) older than this go. @default 1 h */
  readonly spareMaxAgeMs?: number;
  /** Templates of other migration hashes older than this go. @default 1 h */
  readonly templateMaxAgeMs?: number;
  /** Only say what would go. @default false */
  readonly dryRun?: boolean;
  /** @default now */
  readonly now?: Date;
}

/** What {@link sweepTestLeftovers} removed (or, dry, would remove). */
export interface SweepResult {
  readonly databases: readonly string[];
  readonly redisPrefixes: readonly string[];
  readonly redisKeys: number;
}

const HOUR = 3_600_000;

/** A test prefix (`ccs-test:<worker>:<8 hex>`) at the start of a key. */
const TEST_PREFIX = /^(ccs-test:[^:]+:[0-9a-f]{8}):/;

/**
 * Removes what earlier test runs left behind: spare clones of a crashed run, databases kept
 * after failures once older than a day, templates of older migrations, and the Redis keys of
 * test prefixes whose run is gone. It touches only what test-env made: a database needs
 * test-env's name (`ccs_test_…`, `ccs_spare_…`, `ccs_template_…`) and its marker comment with
 * the time it was made, and is skipped while anyone is connected to it; a Redis key needs a test
 * prefix whose marker key (renewed by no one, expiring after 6 h) is gone.
 *
 * @example
 * const swept = await sweepTestLeftovers({ adminUrl, redisUrl });
 */
export async function sweepTestLeftovers(options: SweepOptions): Promise<SweepResult> {
  const databases = await sweepDatabases(options);
  const redis = options.redisUrl
    ? await sweepRedis(options.redisUrl, options.dryRun ?? false)
    : { prefixes: [], keys: 0 };
  return { databases, redisPrefixes: redis.prefixes, redisKeys: redis.keys };
}

async function sweepDatabases(options: SweepOptions): Promise<string[]> {
  const now = (options.now ?? new Date()).getTime();
  const currentTemplate = `ccs_template_${migrationsHash()}`;
  const admin = new pg.Client({
    connectionString: options.adminUrl,
    application_name: 'ccs-test-sweep',
  });
  await admin.connect();
  try {
    const { rows } = await admin.query<{
      name: string;
      comment: string | null;
      connections: number;
    }>(
      `SELECT d.datname AS name, shobj_description(d.oid, 'pg_database') AS comment,
              (SELECT count(*)::int FROM pg_stat_activity a WHERE a.datname = d.datname) AS connections
       FROM pg_database d
       WHERE d.datname ~ '^ccs_(test|spare|template)_'
       ORDER BY d.datname`,
    );
    const doomed = rows.filter((row) => {
      const madeAt = markedAt(row.comment);
      if (!madeAt || row.connections > 0) return false;
      const age = now - madeAt.getTime();
      if (row.name.startsWith('ccs_spare_')) return age > (options.spareMaxAgeMs ?? HOUR);
      if (row.name.startsWith('ccs_test_')) return age > (options.keptMaxAgeMs ?? 24 * HOUR);
      return row.name !== currentTemplate && age > (options.templateMaxAgeMs ?? HOUR);
    });
    if (options.dryRun) return doomed.map((row) => row.name);
    const dropped: string[] = [];
    for (const { name } of doomed) {
      try {
        if (name.startsWith('ccs_template_')) {
          await admin.query(`ALTER DATABASE ${quoteIdentifier(name)} WITH IS_TEMPLATE false`);
        }
        await admin.query(`DROP DATABASE IF EXISTS ${quoteIdentifier(name)}`);
        dropped.push(name);
      } catch {
        // Someone connected (or cloned it) since: it is not left over after all.
      }
    }
    return dropped;
  } finally {
    await admin.end();
  }
}

async function sweepRedis(
  url: string,
  dryRun: boolean,
): Promise<{ prefixes: string[]; keys: number }> {
  const redis = new Redis(url, { connectionName: 'ccs-test-sweep', maxRetriesPerRequest: 1 });
  try {
    const byPrefix = new Map<string, string[]>();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', 'ccs-test:*', 'COUNT', 1000);
      cursor = next;
      for (const key of keys) {
        const prefix = TEST_PREFIX.exec(key)?.[1];
        if (!prefix) continue;
        const list = byPrefix.get(prefix);
        if (list) list.push(key);
        else byPrefix.set(prefix, [key]);
      }
    } while (cursor !== '0');
    const dead: string[] = [];
    let removed = 0;
    for (const [prefix, keys] of byPrefix) {
      if ((await redis.exists(`${prefix}:${REDIS_MARKER_KEY}`)) === 1) continue;
      dead.push(prefix);
      removed += keys.length;
      if (dryRun) continue;
      for (let i = 0; i < keys.length; i += 500) await redis.unlink(...keys.slice(i, i + 500));
    }
    return { prefixes: dead, keys: removed };
  } finally {
    await redis.quit();
  }
}
