import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { createDatabase, type DatabaseHandle } from '../src/database.js';
import { createContainer } from '../src/queries/membership-queries.js';
import { freshDatabase, type FreshDatabase } from './fresh-database.js';

let database: FreshDatabase | undefined;
let handle: DatabaseHandle | undefined;

afterEach(async () => {
  // A pool that lost a connection for good never finishes ending: do not wait for it.
  void handle?.close();
  await database?.drop();
  database = handle = undefined;
});

/**
 * Terminates backend `pid` and waits until it is gone, from a child process, while this process's
 * event loop is blocked: the pool has not read the FATAL yet and still holds that connection as
 * idle, as it does when PostgreSQL restarts or fails over between two uses of a connection.
 */
function terminateUnnoticed(url: string, pid: number): void {
  const script = `
    import pg from 'pg';
    const [url, pid] = process.argv.slice(1);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query('SELECT pg_terminate_backend($1)', [pid]);
    const alive = () => client.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid]);
    while ((await alive()).rowCount > 0) await new Promise((resolve) => setTimeout(resolve, 5));
    await client.end();`;
  const child = spawnSync(
    process.execPath,
    ['--input-type=module', '-e', script, url, String(pid)],
    { encoding: 'utf8', timeout: 10_000 },
  );
  if (child.status !== 0) throw new Error(`terminating backend ${pid} failed: ${child.stderr}`);
}

/** Rejects when `promise` has not settled within `ms`: a query waiting for ever on the pool. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: still waiting after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

describe('a write whose connection died while idle in the pool', () => {
  it('fails, and gives the connection back so that the next query runs', async () => {
    database = await freshDatabase();
    handle = createDatabase({ url: database.url, maxConnections: 1 });
    const { rows } = await handle.pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    terminateUnnoticed(database.url, rows[0]!.pid);

    const failure: unknown = await createContainer(
      handle.db,
      'conversation',
      { userId: randomUUID(), deviceId: randomUUID() },
      { clientId: 'c1', label: 'hello' },
    ).catch((error: unknown) => error);
    // The transaction's first statement met the dead connection (not the insert, not a FK),
    // and that is the error reported, not the ROLLBACK's that followed.
    expect(failure).toMatchObject({ code: '57P01' });

    // Every connection is back (or discarded): none stays checked out for good.
    const { pool } = handle;
    await expect
      .poll(() => pool.totalCount - pool.idleCount, { timeout: 2000, interval: 10 })
      .toBe(0);
    // With a pool of one, a lost connection would leave every later query waiting for ever.
    const next = await within(pool.query<{ one: number }>('SELECT 1 AS one'), 2000, 'SELECT 1');
    expect(next.rows).toEqual([{ one: 1 }]);
  });
});
