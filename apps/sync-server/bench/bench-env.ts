import { randomBytes } from 'node:crypto';
import type { ServerProcess } from '@ccs/test-env';
import {
  createTestDatabase,
  ensureTemplateDatabase,
  openRedisNamespace,
  type RedisNamespace,
  type TestDatabase,
} from '@ccs/test-env';
import { startSyncServerProcess } from './server-probe.js';

/** The bench's own database (a clone of the migrated template) and Redis prefix. */
export interface BenchEnv {
  readonly database: TestDatabase;
  readonly redis: RedisNamespace;
  readonly jwtSecret: string;
  /** The environment every server process of the bench gets (secrets left out of reports). */
  readonly serverEnv: Readonly<Record<string, string>>;
  /** Starts a fresh sync-server process on this database and prefix. */
  startServer(): Promise<ServerProcess>;
  /** Stops any server still running, drops the database, deletes the prefix's keys. */
  close(): Promise<void>;
}

/** Options of {@link openBenchEnv}. */
export interface BenchEnvOptions {
  /** Maintenance database the bench database is created from (and dropped through). */
  readonly adminUrl: string;
  readonly redisUrl: string;
  /** Extra server environment (e.g. limits); the defaults of config.ts apply otherwise. */
  readonly serverEnv: Readonly<Record<string, string>>;
  readonly log: (line: string) => void;
}

export async function openBenchEnv(options: BenchEnvOptions): Promise<BenchEnv> {
  const templateDatabase = await ensureTemplateDatabase(options.adminUrl);
  const database = await createTestDatabase(
    { adminUrl: options.adminUrl, templateDatabase, redisUrl: options.redisUrl },
    { label: 'bench_abuse', maxConnections: 8 },
  );
  const redis = openRedisNamespace(options.redisUrl, 'bench-abuse');
  options.log(`database ${database.name}, redis prefix ${redis.prefix}`);
  const jwtSecret = randomBytes(24).toString('hex');
  const serverEnv = {
    NODE_ENV: 'production',
    DATABASE_URL: database.url,
    REDIS_URL: options.redisUrl,
    CCS_REDIS_PREFIX: redis.prefix,
    LOG_LEVEL: 'info',
    ...options.serverEnv,
  };
  const running = new Set<ServerProcess>();
  let closed: Promise<void> | undefined;
  return {
    database,
    redis,
    jwtSecret,
    serverEnv,
    async startServer() {
      const server = await startSyncServerProcess({ ...serverEnv, CCS_JWT_SECRET: jwtSecret });
      running.add(server);
      server.child.once('exit', () => running.delete(server));
      return server;
    },
    close: () =>
      (closed ??= (async () => {
        await Promise.all([...running].map((server) => server.stop(10_000)));
        await database
          .drop()
          .catch((error: unknown) => options.log(`drop failed: ${String(error)}`));
        await redis
          .dispose()
          .catch((error: unknown) => options.log(`redis cleanup failed: ${String(error)}`));
      })()),
  };
}
