import pg from 'pg';
import { describe, expect } from 'vitest';
import { TestDatabasePool } from './test-database-pool.js';
import { test } from './test-fixtures.js';

async function databasesLike(adminUrl: string, pattern: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ datname: string }>(
      'SELECT datname FROM pg_database WHERE datname LIKE $1',
      [pattern],
    );
    return rows.map((row) => row.datname);
  } finally {
    await client.end();
  }
}

describe('TestDatabasePool', () => {
  test('hands out distinct migrated databases named after the label', async ({ testEnv }) => {
    const pool = new TestDatabasePool(testEnv, { size: 2, worker: 'pooltest' });
    try {
      const [a, b, c] = [await pool.take('first'), await pool.take('second'), await pool.take()];
      expect(new Set([a.name, b.name, c.name]).size).toBe(3);
      expect(a.name).toMatch(/^ccs_test_first_[0-9a-f]{8}$/);
      const { rows } = await b.pool.query('SELECT count(*)::int AS n FROM change_log');
      expect(rows[0]).toEqual({ n: 0 });
      await Promise.all([a.drop(), b.drop(), c.drop()]);
    } finally {
      await pool.close();
    }
    expect(await databasesLike(testEnv.adminUrl, 'ccs_spare_pooltest_%')).toEqual([]);
  });
});
