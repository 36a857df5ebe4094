import { migrateDatabase, migrationsHash } from '@ccs/db';
import pg from 'pg';
import { markDatabaseSql } from './leftover-marker.js';
import { quoteIdentifier, withDatabase } from './test-env-info.js';

/** Advisory lock key (any constant) that serialises template creation across processes. */
const TEMPLATE_LOCK_KEY = 0x0cc5_7e57;

/**
 * Returns the name of a template database migrated to the current migrations, creating it once
 * per migrations hash. Concurrent callers (parallel test runs) wait on an advisory lock; a
 * half-built template never becomes visible because it is built under another name and renamed.
 */
export async function ensureTemplateDatabase(adminUrl: string): Promise<string> {
  const name = `ccs_template_${migrationsHash()}`;
  const building = `${name}_building`;
  const admin = new pg.Client({ connectionString: adminUrl, application_name: 'ccs-test-env' });
  await admin.connect();
  try {
    await admin.query('SELECT pg_advisory_lock($1)', [TEMPLATE_LOCK_KEY]);
    const existing = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (existing.rowCount === 0) {
      await admin.query(`DROP DATABASE IF EXISTS ${quoteIdentifier(building)}`);
      await admin.query(`CREATE DATABASE ${quoteIdentifier(building)}`);
      await admin.query(markDatabaseSql(admin, building));
      await migrateDatabase(withDatabase(adminUrl, building));
      await admin.query(
        `ALTER DATABASE ${quoteIdentifier(building)} RENAME TO ${quoteIdentifier(name)}`,
      );
      await admin.query(`ALTER DATABASE ${quoteIdentifier(name)} WITH IS_TEMPLATE true`);
    }
    return name;
  } finally {
    await admin.query('SELECT pg_advisory_unlock($1)', [TEMPLATE_LOCK_KEY]).catch(() => undefined);
    await admin.end();
  }
}
