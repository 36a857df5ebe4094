import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { databaseLabel, openTestDatabase, type TestDatabase } from './test-database.js';
import { markDatabaseSql } from './leftover-marker.js';
import { quoteIdentifier, type TestEnvInfo } from './test-env-info.js';

/** Options of {@link TestDatabasePool}. */
export interface TestDatabasePoolOptions {
  /** Clones kept ready ahead of the tests that will take them. @default 2 */
  readonly size?: number;
  /** Names the worker in database names. @default process.env.VITEST_POOL_ID ?? '0' */
  readonly worker?: string;
}

/**
 * Keeps a few clones of the template ready, so a test takes a migrated database of its own
 * without waiting for `CREATE DATABASE` (which costs tens to hundreds of milliseconds, most of it
 * fsync). Taking one renames it after the test and starts the next clone in the background.
 */
export class TestDatabasePool {
  private readonly ready: Promise<string>[] = [];
  private readonly size: number;
  private readonly worker: string;
  private closed = false;

  constructor(
    private readonly env: TestEnvInfo,
    options: TestDatabasePoolOptions = {},
  ) {
    this.size = options.size ?? 2;
    this.worker = options.worker ?? process.env['VITEST_POOL_ID'] ?? '0';
    for (let i = 0; i < this.size; i++) this.ready.push(this.clone());
  }

  /** A fresh database named after `label` (e.g. the test's name). */
  async take(label?: string): Promise<TestDatabase> {
    if (this.closed) throw new Error('TestDatabasePool is closed');
    const spare = this.ready.shift() ?? this.clone();
    const spareName = await spare;
    const name = `ccs_test_${databaseLabel(label)}_${randomBytes(4).toString('hex')}`;
    await this.query(
      `ALTER DATABASE ${quoteIdentifier(spareName)} RENAME TO ${quoteIdentifier(name)}`,
    );
    // Refill only now, so the rename never waits behind a CREATE DATABASE.
    if (!this.closed) this.ready.push(this.clone());
    return openTestDatabase(this.env, name);
  }

  /** Drops the clones nobody took. */
  async close(): Promise<void> {
    this.closed = true;
    const spares = await Promise.allSettled(this.ready.splice(0));
    for (const spare of spares) {
      if (spare.status === 'fulfilled') {
        await this.query(`DROP DATABASE IF EXISTS ${quoteIdentifier(spare.value)}`);
      }
    }
  }

  private clone(): Promise<string> {
    const name = `ccs_spare_${this.worker}_${randomBytes(4).toString('hex')}`;
    return this.query(
      `CREATE DATABASE ${quoteIdentifier(name)} TEMPLATE ${quoteIdentifier(this.env.templateDatabase)}`,
      // Marked, so that a crashed run's spares are swept (see leftover-sweeper.ts).
      (client) => markDatabaseSql(client, name),
    ).then(() => name);
  }

  /**
   * One short-lived admin connection per operation, so clones and renames run side by side;
   * `then` is a second statement on the same connection.
   */
  private async query(sql: string, then?: (client: pg.Client) => string): Promise<void> {
    const client = new pg.Client({
      connectionString: this.env.adminUrl,
      application_name: 'ccs-test-env',
    });
    await client.connect();
    try {
      await client.query(sql);
      if (then) await client.query(then(client));
    } finally {
      await client.end();
    }
  }
}
