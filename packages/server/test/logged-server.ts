// A sync-server started in-process like the `startServer` fixture of server-fixtures.ts, but with a
// logger of the test's own (the fixture's is silent), and closed by the test within a bound.
import type { DatabaseHandle } from '@ccs/db';
import type { TestEnvInfo } from '@ccs/test-env';
import type { TestDatabase } from '@ccs/test-env/vitest';
import type { Logger } from 'pino';
import { loadConfig } from '../src/config.js';
import { createServiceLogger } from '../src/log-redaction.js';
import { startSyncServer, type SyncServer } from '../src/sync-server.js';
import { TEST_SERVER_JWT_SECRET } from '@ccs/test-server';

/** One JSON log line, as far as these tests read it. */
export interface LogLine {
  readonly level: number;
  readonly msg?: string;
  readonly err?: Record<string, unknown> & { readonly cause?: Record<string, unknown> };
}

/** A service logger (see log-redaction.ts) whose lines are kept in memory. */
export interface CapturedLog {
  readonly logger: Logger;
  /** Everything written so far, as written. */
  text(): string;
  lines(): LogLine[];
}

export function capturingLogger(): CapturedLog {
  const written: string[] = [];
  const logger = createServiceLogger({
    level: 'debug',
    destination: { write: (line) => void written.push(line) },
  });
  return {
    logger,
    text: () => written.join(''),
    lines: () => written.map((line) => JSON.parse(line) as LogLine),
  };
}

/** What {@link startLoggedServer} needs from the test context. */
export interface LoggedServerContext {
  readonly database: TestDatabase;
  readonly testEnv: TestEnvInfo;
  readonly redisNamespace: { readonly prefix: string };
}

/** Starts a sync-server on port 0 with the test's database and Redis prefix, logging to `logger`. */
export function startLoggedServer(ctx: LoggedServerContext, logger: Logger): Promise<SyncServer> {
  const config = loadConfig({
    HOST: '127.0.0.1',
    PORT: '0',
    DATABASE_URL: ctx.database.url,
    REDIS_URL: ctx.testEnv.redisUrl,
    CCS_REDIS_PREFIX: ctx.redisNamespace.prefix,
    CCS_JWT_SECRET: TEST_SERVER_JWT_SECRET,
    CCS_ROLE: 'gateway',
    CCS_RETENTION_HOURS: '0',
  });
  return startSyncServer(config, logger);
}

/** Connections a pool lent out and has not got back. */
export function lentConnections(pool: DatabaseHandle['pool']): number {
  return pool.totalCount - pool.idleCount;
}

/**
 * Closes `server`, rejecting after `ms`: a pool ends only once every connection it lent is back,
 * so a connection lost for good makes close (and a SIGTERM'd process) wait for ever.
 */
export async function closeWithin(server: SyncServer, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const lent = [server.database, server.authDatabase].map(({ pool }) => lentConnections(pool));
      reject(new Error(`server.close() still waiting after ${ms} ms; connections lent: ${lent}`));
    }, ms);
  });
  try {
    await Promise.race([server.close(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
