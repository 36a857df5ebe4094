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
  /** A statement running longer is cancelled (its query rejects). @default 30000 */
  readonly statementTimeoutMs?: number;
  /** A statement waiting longer for a lock is cancelled (its query rejects). @default 10000 */
  readonly lockTimeoutMs?: number;
  /**
   * A query waiting longer for a free connection of the pool rejects instead of waiting for
   * ever. @default 10000
   */
  readonly connectionTimeoutMs?: number;
  /**
   * Told of an error on a connection that no query was waiting on (its server restarted or
   * terminated it): the pool drops the connection and opens a new one. @default ignore
   */
  readonly onConnectionError?: (error: Error) => void;
}

/** Defaults of {@link DatabaseOptions}. */
const DEFAULTS = {
  maxConnections: 10,
  statementTimeoutMs: 30_000,
  lockTimeoutMs: 10_000,
  connectionTimeoutMs: 10_000,
};

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
    max: options.maxConnections ?? DEFAULTS.maxConnections,
    application_name: options.applicationName ?? 'ccs',
    statement_timeout: options.statementTimeoutMs ?? DEFAULTS.statementTimeoutMs,
    lock_timeout: options.lockTimeoutMs ?? DEFAULTS.lockTimeoutMs,
    connectionTimeoutMillis: options.connectionTimeoutMs ?? DEFAULTS.connectionTimeoutMs,
  });
  const onConnectionError = options.onConnectionError ?? (() => undefined);
  // A connection that loses its server (restart, failover, pg_terminate_backend) emits 'error'.
  // The pool listens only while the connection is idle; one checked out (a transaction between
  // two queries) would have no listener, and an unhandled 'error' ends the process. So every
  // connection gets a listener for its whole life; the query under way, if any, rejects anyway.
  pool.on('connect', (client) => client.on('error', onConnectionError));
  // The pool re-emits an idle connection's error; the listener above has reported it already.
  pool.on('error', () => undefined);
  const db = drizzle(pool, { schema });
  let closed: Promise<void> | undefined;
  return {
    db,
    pool,
    close: () => (closed ??= pool.end()),
  };
}
