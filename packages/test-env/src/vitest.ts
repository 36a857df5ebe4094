// `@ccs/test-env/vitest`: fixtures for test files.
export { test } from './test-fixtures.js';
export type { TestDatabase } from './test-database.js';
export type { RedisNamespace } from './redis-namespace.js';
export type { TestDatabasePool } from './test-database-pool.js';
export type { TestEnvInfo } from './test-env-info.js';
