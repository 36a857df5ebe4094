import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { startServerProcess, type ReadinessCheck, type ServerProcess } from '@ccs/test-env';

/**
 * The built sync-server's entry (`apps/sync-server/dist/main.js`), found through the workspace
 * package: build it first (`nx` does, for projects that depend on this one).
 */
export const SYNC_SERVER_ENTRY = join(
  dirname(createRequire(import.meta.url).resolve('@ccs/sync-server/package.json')),
  'dist/main.js',
);

/** The device-token secret of servers started here unless told otherwise. */
export const TEST_SERVER_JWT_SECRET = 'ccs-test-server-secret-0123456789abcdef';

/** Options of {@link startSyncServerProcess}. */
export interface SyncServerProcessOptions {
  /** The database to serve (a test database's `url`). */
  readonly databaseUrl: string;
  readonly redisUrl: string;
  /** The Redis prefix of this cluster (`redisNamespace.prefix`, or `reserveRedisPrefix`). */
  readonly redisPrefix: string;
  /** @default 'all' (gateway and background jobs) */
  readonly role?: 'gateway' | 'worker' | 'all';
  /** @default {@link TEST_SERVER_JWT_SECRET} */
  readonly jwtSecret?: string;
  /** More environment: limits, `CCS_CHANGE_FEEDS`, `CCS_ADMIN_TOKEN`, … */
  readonly env?: Readonly<Record<string, string>>;
  /** @default the `listening` log line */
  readonly readiness?: ReadinessCheck;
}

/** A sync-server process, and the environment it runs with (to start another node like it). */
export interface SyncServerProcess extends ServerProcess {
  readonly env: Readonly<Record<string, string>>;
  readonly jwtSecret: string;
}

/**
 * Starts the built sync-server as a real process on a free port, on the test's database and
 * Redis prefix, with retention off (its own tests turn it on). Start two with the same options
 * for two nodes of one cluster; `kill('SIGKILL')` one to test a crash.
 *
 * @example
 * const server = await startSyncServerProcess({
 *   databaseUrl: database.url, redisUrl: testEnv.redisUrl, redisPrefix: redisNamespace.prefix,
 * });
 */
export async function startSyncServerProcess(
  options: SyncServerProcessOptions,
): Promise<SyncServerProcess> {
  const jwtSecret = options.jwtSecret ?? TEST_SERVER_JWT_SECRET;
  const env = {
    DATABASE_URL: options.databaseUrl,
    REDIS_URL: options.redisUrl,
    CCS_REDIS_PREFIX: options.redisPrefix,
    CCS_JWT_SECRET: jwtSecret,
    CCS_RETENTION_HOURS: '0',
    ...options.env,
  };
  const server = await startServerProcess({
    entry: SYNC_SERVER_ENTRY,
    args: ['--role', options.role ?? 'all'],
    env,
    readiness: options.readiness,
  });
  return Object.assign(server, { env, jwtSecret });
}

/**
 * Resolves once a worker's change dispatcher reads the database (it saved its first position):
 * every change committed from then on reaches webhooks and change feeds. A dispatcher's first
 * run starts from "now", so write only after this.
 */
export async function waitForChangeDispatcher(
  database: { readonly pool: { query(sql: string): Promise<{ rowCount: number | null }> } },
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rowCount } = await database.pool.query(
      "SELECT 1 FROM change_tail_positions WHERE name = 'jobs'",
    );
    if (rowCount === 1) return;
    if (Date.now() > deadline) {
      throw new Error(`no change dispatcher read the database within ${timeoutMs} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
