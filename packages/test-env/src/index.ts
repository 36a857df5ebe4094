// Node-side API, safe to import from scripts and vitest `globalSetup`. The vitest fixtures
// (`test`) live in `@ccs/test-env/vitest`, because extending `test` needs a running test file.
export {
  createTestDatabase,
  type CreateTestDatabaseOptions,
  type TestDatabase,
} from './test-database.js';
export { ensureTemplateDatabase } from './template-database.js';
export { withDatabase, type TestEnvInfo } from './test-env-info.js';
export {
  freePort,
  startServerProcess,
  type ServerProcess,
  type ServerProcessOptions,
} from './server-process.js';
export type { ReadinessCheck, StartingProcess } from './readiness/readiness-check.js';
export { logLineReadiness } from './readiness/log-line.js';
export { httpProbeReadiness } from './readiness/http-probe.js';
export { portOpenReadiness } from './readiness/port-open.js';
export { openRedisNamespace, reserveRedisPrefix, type RedisNamespace } from './redis-namespace.js';
export { sweepTestLeftovers, type SweepOptions, type SweepResult } from './leftover-sweeper.js';
export { TestDatabasePool, type TestDatabasePoolOptions } from './test-database-pool.js';
