import { afterEach, describe, expect, it } from 'vitest';
import { createDatabase, type DatabaseHandle } from '../src/database.js';
import { migrateDatabase } from '../src/migrations.js';
import { freshDatabase, type FreshDatabase } from './fresh-database.js';

let database: FreshDatabase | undefined;
let handle: DatabaseHandle | undefined;

afterEach(async () => {
  await handle?.close();
  await database?.drop();
  database = handle = undefined;
});

describe('database faults', () => {
  it('survives the server ending a connection that is checked out between two queries', async () => {
    database = await freshDatabase();
    const lost: Error[] = [];
    handle = createDatabase({ url: database.url, onConnectionError: (error) => lost.push(error) });
    const { pool } = handle;
    const client = await pool.connect();
    const ended = new Promise((resolve) => client.once('end', resolve));
    await client.query('BEGIN');
    const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    // As a failover or an operator would: the connection is inside a transaction, no query runs.
    await database.pool.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
    await ended;
    client.release(true);
    // An unhandled 'error' on that connection would have ended this process before here.
    expect(lost.length).toBeGreaterThan(0);
    expect((await pool.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  });

  it('cancels a statement that waits on a lock longer than lockTimeoutMs', async () => {
    database = await freshDatabase();
    handle = createDatabase({ url: database.url, lockTimeoutMs: 100 });
    const holder = await database.pool.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('LOCK TABLE stream_heads IN ACCESS EXCLUSIVE MODE');
      // lock_not_available: the statement gave up instead of waiting for ever.
      await expect(handle.pool.query('SELECT count(*) FROM stream_heads')).rejects.toMatchObject({
        code: '55P03',
      });
    } finally {
      await holder.query('ROLLBACK');
      holder.release();
    }
  });

  it('migrates once when several nodes migrate the same database at once', async () => {
    database = await freshDatabase({ migrate: false });
    const url = database.url;
    await Promise.all([migrateDatabase(url), migrateDatabase(url), migrateDatabase(url)]);
    const { rows } = await database.pool.query<{ n: string }>(
      'SELECT count(*) AS n FROM drizzle.__drizzle_migrations',
    );
    expect(Number(rows[0]!.n)).toBeGreaterThan(0);
    const { rows: triggers } = await database.pool.query(
      "SELECT 1 FROM pg_trigger WHERE tgname = 'messages_capture_created'",
    );
    expect(triggers).toHaveLength(1);
  });
});
