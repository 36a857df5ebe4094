import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import * as schema from './schema/index.js';

/**
 * The drizzle database over a `pg` pool, typed by the CCS schema; `$client` is the pool, for the
 * hot queries that run as named (prepared) statements.
 */
export type Database = NodePgDatabase<typeof schema> & { readonly $client: pg.Pool };

/** Options of {@link createDatabase}. */
export interface DatabaseOptions {
  /** PostgreSQL connection string. */
  readonly url: string;
  /** Pool size. @default 10 */
  readonly maxConnections?: number;
  /** `application_name` shown in `pg_stat_activity`. @default 'ccs' */
  readonly applicationName?: string;
}

/** A pool and the drizzle database over it; `close()` ends the pool. */
export interface DatabaseHandle {
  readonly db: Database;
  readonly pool: pg.Pool;
  close(): Promise<void>;
}

/** Opens a pool to PostgreSQL. Nothing connects until the first query. */
export function createDatabase(options: DatabaseOptions): DatabaseHandle {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.maxConnections ?? 10,
    application_name: options.applicationName ?? 'ccs',
  });
  // An idle client that loses its server (restart, pg_terminate_backend) must not crash the
  // process: the pool drops it and the next query opens a new one.
  pool.on('error', () => undefined);
  const db = drizzle(pool, { schema });
  let closed: Promise<void> | undefined;
  return {
    db,
    pool,
    close: () => (closed ??= pool.end()),
  };
}
