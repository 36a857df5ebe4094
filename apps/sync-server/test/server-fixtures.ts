// Vitest fixtures that run the whole service in-process, for this app's tests. They live with
// the tests, so the deployable app carries no test code or test dependency; other projects
// start the real server as a process with @ccs/test-server.
import { TestClient, type TestClientOptions } from '@ccs/test-clients';
import { test as base } from '@ccs/test-env/vitest';
import { loadConfig } from '../src/config.js';
import { createServiceLogger } from '../src/log-redaction.js';
import { startSyncServer, type SyncServer } from '../src/sync-server.js';

/** The device-token secret of servers started by these fixtures. */
export const TEST_JWT_SECRET = 'ccs-test-secret-0123456789abcdef';

/** Connects test clients to the test's `server`; every client is closed after the test. */
export interface TestClients {
  connect(token: string, options?: Partial<TestClientOptions>): Promise<TestClient>;
  readonly all: readonly TestClient[];
}

/**
 * `@ccs/test-env`'s `test` plus:
 * - `startServer(env?)`: starts a sync-server in-process on port 0 with the test's database and
 *   Redis namespace (call it twice for two nodes of one cluster); env overrides the config. It
 *   runs the gateway only: pass `CCS_ROLE: 'all'` for the background jobs too.
 * - `server`: one such server, started on first use.
 * - `clients`: `connect(token)` to `server`.
 * Servers and clients are closed after the test.
 *
 * @example
 * test('delivers', async ({ server, clients, database }) => {
 *   const scenario = await seedConversationScenario(database.db, { jwtSecret: TEST_JWT_SECRET });
 *   const bob = await clients.connect(scenario.users[1]!.devices[0]!.token);
 * });
 */
export const test = base
  .extend('startServer', async ({ database, testEnv, redisNamespace }, { onCleanup }) => {
    const servers: SyncServer[] = [];
    onCleanup(async () => {
      await Promise.all(servers.map((server) => server.close()));
    });
    return async (env: Readonly<Record<string, string>> = {}): Promise<SyncServer> => {
      const config = loadConfig({
        HOST: '127.0.0.1',
        PORT: '0',
        DATABASE_URL: database.url,
        REDIS_URL: testEnv.redisUrl,
        CCS_REDIS_PREFIX: redisNamespace.prefix,
        CCS_JWT_SECRET: TEST_JWT_SECRET,
        // Background jobs (webhooks, feeds, retention) only for the tests that ask for them.
        CCS_ROLE: 'gateway',
        CCS_RETENTION_HOURS: '0',
        ...env,
      });
      const server = await startSyncServer(config, createServiceLogger({ level: 'silent' }));
      servers.push(server);
      return server;
    };
  })
  .extend('server', async ({ startServer }) => startServer())
  .extend('clients', async ({ server }, { onCleanup }): Promise<TestClients> => {
    const all: TestClient[] = [];
    onCleanup(() => {
      for (const client of all) client.close();
    });
    return {
      all,
      async connect(token, options = {}) {
        const client = new TestClient({ url: server.url, token, ...options });
        all.push(client);
        await client.open();
        return client;
      },
    };
  });
