// In-process server fixtures. This package cannot import `@ccs/server` (the server's own tests use
// these fixtures, and a dependency back would be a cycle), so the caller hands the server module in.
import { TestClient, type TestClientOptions } from '@ccs/test-clients';
import { test as base } from '@ccs/test-env/vitest';
import { TEST_SERVER_JWT_SECRET } from './sync-server-process.js';

/** What the fixtures need of a server started in the test's process. */
export interface InProcessServer {
  /** Base URL once listening, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * What the fixtures need of `@ccs/server`: pass the module itself
 * (`import * as server from '@ccs/server'`).
 */
export interface ServerModule<Config, Logger, Server extends InProcessServer> {
  loadConfig(env: Readonly<Record<string, string | undefined>>): Config;
  createServiceLogger(options: { readonly level: 'silent' }): Logger;
  startSyncServer(config: Config, logger: Logger): Promise<Server>;
}

/** Connects test clients to the test's `server`; every client is closed after the test. */
export interface TestClients {
  connect(token: string, options?: Partial<TestClientOptions>): Promise<TestClient>;
  readonly all: readonly TestClient[];
}

/**
 * `@ccs/test-env`'s `test` plus a sync-server in the test's own process (a debugger and
 * `server.gateway`, `server.io`, … reach it; for a crash, use the process fixtures instead):
 * - `startServer(env?)`: starts one on port 0 with the test's database and Redis namespace, the
 *   device-token secret {@link TEST_SERVER_JWT_SECRET}, and retention off (call it twice for two
 *   nodes of one cluster); `env` overrides the config. It runs the gateway only: pass
 *   `CCS_ROLE: 'all'` for the background jobs too.
 * - `server`: one such server, started on first use.
 * - `clients`: `connect(token)` to `server`.
 * Servers and clients are closed after the test.
 *
 * @example
 * import * as syncServer from '@ccs/server';
 * export const test = inProcessServerFixtures(syncServer);
 *
 * test('delivers', async ({ server, clients, database }) => {
 *   const scenario = await seedConversationScenario(database.db, { jwtSecret: TEST_SERVER_JWT_SECRET });
 *   const bob = await clients.connect(scenario.users[1]!.devices[0]!.token);
 * });
 */
export function inProcessServerFixtures<Config, Logger, Server extends InProcessServer>(
  serverModule: ServerModule<Config, Logger, Server>,
) {
  return base
    .extend('startServer', async ({ database, testEnv, redisNamespace }, { onCleanup }) => {
      const servers: Server[] = [];
      onCleanup(async () => {
        await Promise.all(servers.map((server) => server.close()));
      });
      return async (env: Readonly<Record<string, string>> = {}): Promise<Server> => {
        const config = serverModule.loadConfig({
          HOST: '127.0.0.1',
          PORT: '0',
          DATABASE_URL: database.url,
          REDIS_URL: testEnv.redisUrl,
          CCS_REDIS_PREFIX: redisNamespace.prefix,
          CCS_JWT_SECRET: TEST_SERVER_JWT_SECRET,
          // Background jobs (webhooks, feeds, retention) only for the tests that ask for them.
          CCS_ROLE: 'gateway',
          CCS_RETENTION_HOURS: '0',
          ...env,
        });
        const server = await serverModule.startSyncServer(
          config,
          serverModule.createServiceLogger({ level: 'silent' }),
        );
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
}
