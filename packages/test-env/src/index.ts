export { test, type CcsTestFixtures, type CcsWorkerFixtures } from './test-fixtures.js';
export {
  createTestDatabase,
  type CreateTestDatabaseOptions,
  type TestDatabase,
} from './test-database.js';
export { ensureTemplateDatabase } from './template-database.js';
export { withDatabase, type TestEnvInfo } from './test-env-info.js';
