import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import { DbError } from './db-error.js';

/** The drizzle-kit migrations folder, the same from `src/` and from `dist/`. */
export const migrationsFolder = fileURLToPath(new URL('../drizzle', import.meta.url));

/**
 * A short hash of every migration file: a database migrated from the same hash has the same
 * schema, so test environments can key template databases on it.
 */
export function migrationsHash(): string {
  const hash = createHash('sha256');
  const files = readdirSync(migrationsFolder, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.sql') || file.endsWith('_journal.json'))
    .sort();
  for (const file of files) {
    hash.update(file).update(readFileSync(join(migrationsFolder, file)));
  }
  return hash.digest('hex').slice(0, 12);
}

/** The advisory lock every migrating process takes, so that nodes starting together take turns. */
const MIGRATION_LOCK = 'ccs-migrations';

/**
 * Applies every pending migration to the database at `url`; a no-op when up to date. Several
 * processes may call it at once (nodes started together with `--migrate`): they take turns on
 * an advisory lock, and the ones after the first find nothing left to do.
 */
export async function migrateDatabase(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, application_name: 'ccs-migrate' });
  // A connection error outside a query must not end the process; the query under way rejects.
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT pg_advisory_lock(hashtext($1))', [MIGRATION_LOCK]);
    await migrate(drizzle(client), { migrationsFolder });
  } catch (error) {
    throw new DbError(
      'migration_failed',
      `Migrating ${redactUrl(url)} failed: ${(error as Error).message}. Check that the database exists and is reachable.`,
      { url: redactUrl(url) },
      { cause: error },
    );
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** The URL without its password, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '<invalid url>';
  }
}
