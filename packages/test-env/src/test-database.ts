import { randomBytes } from 'node:crypto';
import { createDatabase, type DatabaseHandle } from '@ccs/db';
import pg from 'pg';
import { markDatabaseSql } from './leftover-marker.js';
import { quoteIdentifier, withDatabase, type TestEnvInfo } from './test-env-info.js';

/** A database of its own for one test, cloned from the migrated template. */
export interface TestDatabase extends DatabaseHandle {
  readonly name: string;
  readonly url: string;
  /** Closes the pool and drops the database. */
  drop(): Promise<void>;
}

/** Options of {@link createTestDatabase}. */
export interface CreateTestDatabaseOptions {
  /** Readable part of the database name (worker id, test name). @default 'db' */
  readonly label?: string;
  /** Pool size of the returned handle. @default 5 */
  readonly maxConnections?: number;
  /**
   * How long a query may wait for a free connection of the pool; 0 waits for ever (a load
   * generator that queues on purpose). @default 10000, as `@ccs/db`
   */
  readonly connectionTimeoutMs?: number;
}

/** Turns a test name into a short, safe part of a database name. */
export function databaseLabel(label: string | undefined): string {
  return (label ?? 'db')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .slice(0, 30);
}

/**
 * Clones the template into a fresh database (`CREATE DATABASE … TEMPLATE`), with every
 * migration, trigger and function already in place. See the README for what one costs; the
 * `database` fixture hides that cost behind a pool of clones made ahead of time.
 */
export async function createTestDatabase(
  env: TestEnvInfo,
  options: CreateTestDatabaseOptions = {},
): Promise<TestDatabase> {
  const name = `ccs_test_${databaseLabel(options.label)}_${randomBytes(4).toString('hex')}`;
  await adminQuery(env.adminUrl, (admin) => [
    `CREATE DATABASE ${quoteIdentifier(name)} TEMPLATE ${quoteIdentifier(env.templateDatabase)}`,
    markDatabaseSql(admin, name),
  ]);
  return openTestDatabase(env, name, options.maxConnections, options.connectionTimeoutMs);
}

/** A handle on an existing test database (made by {@link createTestDatabase} or a pool). */
export function openTestDatabase(
  env: TestEnvInfo,
  name: string,
  maxConnections = 5,
  connectionTimeoutMs?: number,
): TestDatabase {
  const url = withDatabase(env.adminUrl, name);
  const handle = createDatabase({
    url,
    maxConnections,
    applicationName: 'ccs-test',
    ...(connectionTimeoutMs !== undefined && { connectionTimeoutMs }),
  });
  return {
    ...handle,
    name,
    url,
    async drop() {
      await handle.close();
      await adminQuery(
        env.adminUrl,
        `DROP DATABASE IF EXISTS ${quoteIdentifier(name)} WITH (FORCE)`,
      );
    },
  };
}

async function adminQuery(
  adminUrl: string,
  statements: string | ((admin: pg.Client) => readonly string[]),
): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl, application_name: 'ccs-test-env' });
  await admin.connect();
  try {
    const list = typeof statements === 'string' ? [statements] : statements(admin);
    for (const sql of list) await admin.query(sql);
  } finally {
    await admin.end();
  }
}
