import { randomBytes } from 'node:crypto';
import { test as base } from '@ccs/test-env/vitest';
import { pino } from 'pino';
import { loadConfig } from '../src/config.js';
import { startSyncServer, type SyncServer } from '../src/sync-server.js';

export const jwtSecret = 'sync-server-test-secret-0123456789';

/**
 * `test` with `startServer(env?)`: an in-process sync-server on port 0, on the test's database
 * and a Redis prefix of the test's own (shared by every node the test starts, like a cluster).
 */
export const test = base
  .extend('redisPrefix', () => `test-${randomBytes(4).toString('hex')}`)
  .extend('startServer', async ({ database, testEnv, redisPrefix }, { onCleanup }) => {
    const servers: SyncServer[] = [];
    onCleanup(async () => {
      await Promise.all(servers.map((server) => server.close()));
    });
    return async (env: Record<string, string> = {}): Promise<SyncServer> => {
      const config = loadConfig({
        PORT: '0',
        DATABASE_URL: database.url,
        REDIS_URL: testEnv.redisUrl,
        CCS_JWT_SECRET: jwtSecret,
        CCS_REDIS_PREFIX: redisPrefix,
        CCS_RELAY_POLL_MS: '200',
        // Retention runs on BullMQ; its own tests live in @ccs/jobs.
        CCS_RETENTION_HOURS: '0',
        ...env,
      });
      const server = await startSyncServer(config, pino({ level: 'silent' }));
      servers.push(server);
      return server;
    };
  });
