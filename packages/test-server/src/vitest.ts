// `@ccs/test-server/vitest`: `@ccs/test-env`'s `test` plus the real sync-server as a process, and
// fixtures for one in the test's own process.
import { test as base } from '@ccs/test-env/vitest';
import {
  startSyncServerProcess,
  type SyncServerProcess,
  type SyncServerProcessOptions,
} from './sync-server-process.js';

/** What a test may set when it starts a server: the rest comes from its fixtures. */
export type TestServerOptions = Pick<SyncServerProcessOptions, 'role' | 'env' | 'readiness'>;

/**
 * `@ccs/test-env`'s `test` plus:
 * - `startSyncServer(options?)`: starts a sync-server process on the test's database and Redis
 *   namespace (call it twice for two nodes of one cluster, with `role` for a gateway and a
 *   worker); every one is stopped after the test.
 * - `syncServer`: one such server (role `all`), started on first use.
 *
 * @example
 * test('a device sees the bot reply', async ({ database, syncServer }) => {
 *   const scenario = await seedConversationScenario(database.db, { jwtSecret: syncServer.jwtSecret });
 *   const bob = await TestClient.connect({ url: syncServer.url, token: scenario.users[1]!.devices[0]!.token });
 * });
 */
export const test = base
  .extend('startSyncServer', async ({ database, testEnv, redisNamespace }, { onCleanup }) => {
    const servers: SyncServerProcess[] = [];
    onCleanup(async () => {
      await Promise.all(servers.map((server) => server.stop()));
    });
    return async (options: TestServerOptions = {}): Promise<SyncServerProcess> => {
      const server = await startSyncServerProcess({
        databaseUrl: database.url,
        redisUrl: testEnv.redisUrl,
        redisPrefix: redisNamespace.prefix,
        ...options,
      });
      servers.push(server);
      return server;
    };
  })
  .extend('syncServer', async ({ startSyncServer }) => startSyncServer());
export {
  inProcessServerFixtures,
  type InProcessServer,
  type ServerModule,
  type TestClients,
} from './in-process-server.js';
