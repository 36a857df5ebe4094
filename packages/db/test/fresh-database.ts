import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createDatabase, type DatabaseHandle } from '../src/database.js';
import { migrateDatabase } from '../src/migrations.js';

const adminUrl =
  process.env['CCS_TEST_DATABASE_URL'] ??
  process.env['DATABASE_URL'] ??
  'postgres://postgres@127.0.0.1:5432/postgres';

export interface FreshDatabase extends DatabaseHandle {
  readonly url: string;
  drop(): Promise<void>;
}

/**
 * An empty database migrated from zero, so these tests also prove the migrations apply cleanly
 * (`migrate: false` leaves it empty). Other packages clone a template with @ccs/test-env, which
 * depends on this package.
 */
export async function freshDatabase({ migrate = true } = {}): Promise<FreshDatabase> {
  const name = `ccs_dbtest_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  if (migrate) await migrateDatabase(url.toString());
  const handle = createDatabase({ url: url.toString(), maxConnections: 10 });
  return {
    ...handle,
    url: url.toString(),
    async drop() {
      await handle.close();
      const admin2 = new pg.Client({ connectionString: adminUrl });
      await admin2.connect();
      await admin2.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await admin2.end();
    },
  };
}
