import { randomBytes } from 'node:crypto';
import { createDatabase, type DatabaseHandle } from '@ccs/db';
import pg from 'pg';
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
}

/**
 * Clones the template into a fresh database (`CREATE DATABASE … TEMPLATE`): a few tens of
 * milliseconds, with every migration, trigger and function already in place.
 */
export async function createTestDatabase(
  env: TestEnvInfo,
  options: CreateTestDatabaseOptions = {},
): Promise<TestDatabase> {
  const label = (options.label ?? 'db')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .slice(0, 30);
  const name = `ccs_test_${label}_${randomBytes(4).toString('hex')}`;
  await adminQuery(
    env.adminUrl,
    `CREATE DATABASE ${quoteIdentifier(name)} TEMPLATE ${quoteIdentifier(env.templateDatabase)}`,
  );
  const url = withDatabase(env.adminUrl, name);
  const handle = createDatabase({
    url,
    maxConnections: options.maxConnections ?? 5,
    applicationName: 'ccs-test',
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

async function adminQuery(adminUrl: string, sql: string): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl, application_name: 'ccs-test-env' });
  await admin.connect();
  try {
    await admin.query(sql);
  } finally {
    await admin.end();
  }
}
