import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDatabase, migrationsFolder } from '@ccs/db';
import { startServerProcess, withDatabase, type ServerProcess } from '@ccs/test-env';
import { describe, expect } from 'vitest';
import { TEST_SERVER_JWT_SECRET } from '@ccs/test-server';
import { test } from './server-fixtures.js';

/** `main.ts`, run from source (tsx, the `@ccs/source` condition): no build needed. */
const ENTRY = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const FROM_SOURCE = '--import tsx --conditions=@ccs/source';

/** The tags of every migration drizzle-kit generated, in order. */
function journalTags(): string[] {
  const journal = JSON.parse(
    readFileSync(join(migrationsFolder, 'meta/_journal.json'), 'utf8'),
  ) as {
    entries: { tag: string }[];
  };
  return journal.entries.map((entry) => entry.tag);
}

describe('nodes started together with --migrate', () => {
  test('two server processes migrate one empty database: both serve, each migration applied once', async ({
    testEnv,
    redisNamespace,
  }) => {
    const name = `ccs_migrate_race_${randomBytes(4).toString('hex')}`;
    const admin = createDatabase({ url: testEnv.adminUrl, maxConnections: 1 });
    await admin.pool.query(`CREATE DATABASE "${name}"`);
    const url = withDatabase(testEnv.adminUrl, name);
    const target = createDatabase({ url, maxConnections: 1 });
    const env = {
      DATABASE_URL: url,
      REDIS_URL: testEnv.redisUrl,
      CCS_REDIS_PREFIX: redisNamespace.prefix,
      CCS_JWT_SECRET: TEST_SERVER_JWT_SECRET,
      CCS_RETENTION_HOURS: '0',
      NODE_OPTIONS: FROM_SOURCE,
    };
    const starting = [0, 1].map(() =>
      startServerProcess({ entry: ENTRY, args: ['--migrate'], env, startTimeoutMs: 60_000 }),
    );
    const nodes: ServerProcess[] = [];
    try {
      for (const node of await Promise.allSettled(starting)) {
        if (node.status === 'fulfilled') nodes.push(node.value);
      }
      // Both started: neither failed on the other's half-applied schema.
      await Promise.all(starting);
      for (const node of nodes) {
        expect(node.output.some((line) => line.includes('"msg":"migrations applied"'))).toBe(true);
        const ready = await fetch(`${node.url}/readyz`);
        expect(await ready.json()).toMatchObject({ status: 'ready' });
      }
      const { rows } = await target.pool.query<{ hash: string; times: number }>(
        'SELECT hash, count(*)::int AS times FROM drizzle.__drizzle_migrations GROUP BY hash',
      );
      expect(rows).toHaveLength(journalTags().length);
      expect(rows.every((row) => row.times === 1)).toBe(true);
      const { rows: triggers } = await target.pool.query(
        "SELECT 1 FROM pg_trigger WHERE tgname = 'messages_capture_created'",
      );
      expect(triggers).toHaveLength(1);
    } finally {
      await Promise.all(nodes.map((node) => node.stop()));
      await target.close();
      await admin.pool.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await admin.close();
    }
  }, 90_000);
});
