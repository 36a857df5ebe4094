import { insertUser } from '@ccs/db';
import pg from 'pg';
import { describe, expect } from 'vitest';
import { createTestDatabase } from './test-database.js';
import { test } from './test-fixtures.js';

async function databaseExists(adminUrl: string, name: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const result = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    return result.rowCount === 1;
  } finally {
    await client.end();
  }
}

describe('createTestDatabase', () => {
  test('clones a migrated database with the capture trigger in place', async ({ testEnv }) => {
    const database = await createTestDatabase(testEnv, { label: 'clone' });
    try {
      const { rows } = await database.pool.query<{ tgname: string }>(
        "SELECT tgname FROM pg_trigger WHERE tgname = 'messages_capture'",
      );
      expect(rows).toHaveLength(1);
    } finally {
      await database.drop();
    }
    expect(await databaseExists(testEnv.adminUrl, database.name)).toBe(false);
  });

  test('gives two tests two separate databases', async ({ testEnv }) => {
    const a = await createTestDatabase(testEnv, { label: 'a' });
    const b = await createTestDatabase(testEnv, { label: 'b' });
    try {
      await insertUser(a.db, { name: 'only-in-a' });
      const inB = await b.pool.query('SELECT count(*)::int AS n FROM users');
      expect(inB.rows[0]).toEqual({ n: 0 });
    } finally {
      await Promise.all([a.drop(), b.drop()]);
    }
  });
});

describe('test.database fixture', () => {
  test('is a fresh, migrated database', async ({ database }) => {
    const { rows } = await database.pool.query('SELECT count(*)::int AS n FROM messages');
    expect(rows[0]).toEqual({ n: 0 });
    expect(database.name).toMatch(/^ccs_test_/);
  });
});
