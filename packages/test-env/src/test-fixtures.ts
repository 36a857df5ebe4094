import { test as base, inject } from 'vitest';
import { openRedisNamespace } from './redis-namespace.js';
import { TestDatabasePool } from './test-database-pool.js';

/**
 * `test` with CCS fixtures. Needs `@ccs/test-env`'s global setup in the project's `globalSetup`.
 *
 * - `testEnv` (worker): connection info from the global setup.
 * - `database` (test): a migrated database of the test's own, cloned from the template; dropped
 *   after a pass, kept and named on stderr after a failure so it can be inspected.
 * - `redisNamespace` (test): a key prefix of the test's own with a client under it; use
 *   `redisNamespace.prefix` for BullMQ `prefix` and the socket.io adapter `key`. Its keys are
 *   deleted after the test.
 *
 * @example
 * test('stores a user', async ({ database }) => {
 *   await insertUser(database.db, { name: 'ada' });
 * });
 */
export const test = base
  .extend('testEnv', { scope: 'worker' }, () => inject('ccsTestEnv'))
  .extend('databasePool', { scope: 'worker' }, ({ testEnv }, { onCleanup }) => {
    const pool = new TestDatabasePool(testEnv);
    onCleanup(() => pool.close());
    return pool;
  })
  .extend('database', async ({ databasePool, task, onTestFailed }, { onCleanup }) => {
    const database = await databasePool.take(task.name);
    let failed = false;
    onTestFailed(() => {
      failed = true;
    });
    onCleanup(async () => {
      if (failed) {
        await database.close();
        console.error(
          `[test-env] kept the database of failed test "${task.name}": ${database.url}`,
        );
      } else {
        await database.drop();
      }
    });
    return database;
  })
  .extend('redisNamespace', async ({ testEnv }, { onCleanup }) => {
    const namespace = openRedisNamespace(testEnv.redisUrl, process.env['VITEST_POOL_ID'] ?? '0');
    onCleanup(() => namespace.dispose());
    return namespace;
  });
