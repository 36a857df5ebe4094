import { test as base, inject } from 'vitest';
import { createTestDatabase, type TestDatabase } from './test-database.js';
import type { TestEnvInfo } from './test-env-info.js';

/** Fixtures every CCS integration test can ask for by name. */
export interface CcsTestFixtures {
  /** A migrated database of this test's own; dropped after a pass, kept (and named) on failure. */
  database: TestDatabase;
}

/** Worker-scoped fixtures. */
export interface CcsWorkerFixtures {
  /** Connection info from the global setup. */
  testEnv: TestEnvInfo;
}

/**
 * `test` with CCS fixtures. Needs `@ccs/test-env/global-setup` in the project's `globalSetup`.
 *
 * @example
 * test('stores a user', async ({ database }) => {
 *   await insertUser(database.db, { name: 'ada' });
 * });
 */
export const test = base.extend<CcsTestFixtures, CcsWorkerFixtures>({
  testEnv: [
    // eslint-disable-next-line no-empty-pattern -- vitest reads fixture dependencies from the pattern
    async ({}, use) => {
      await use(inject('ccsTestEnv'));
    },
    { scope: 'worker' },
  ],
  database: async ({ testEnv, task }, use) => {
    const database = await createTestDatabase(testEnv, { label: task.name });
    await use(database);
    if (task.result?.state === 'fail') {
      await database.close();
      console.error(`[test-env] kept database of failed test "${task.name}": ${database.url}`);
    } else {
      await database.drop();
    }
  },
});
