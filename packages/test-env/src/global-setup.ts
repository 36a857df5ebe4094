import type { TestProject } from 'vitest/node';
import { sweepTestLeftovers } from './leftover-sweeper.js';
import { ensureTemplateDatabase } from './template-database.js';
import { testEnvUrls, type TestEnvInfo } from './test-env-info.js';

/**
 * vitest `globalSetup`: migrates the template database once per migrations hash, sweeps what
 * earlier runs left behind (see `sweepTestLeftovers`), and provides connection info to every
 * worker as `inject('ccsTestEnv')`.
 *
 * Reads `CCS_TEST_DATABASE_URL` (else `DATABASE_URL`, else the local default) for the admin
 * connection and `REDIS_URL` for Redis.
 */
export default async function setup(project: TestProject): Promise<void> {
  const { adminUrl, redisUrl } = testEnvUrls();
  const templateDatabase = await ensureTemplateDatabase(adminUrl);
  try {
    const swept = await sweepTestLeftovers({ adminUrl, redisUrl });
    if (swept.databases.length > 0 || swept.redisKeys > 0) {
      console.log(
        `[test-env] swept earlier runs' leftovers: ${swept.databases.length} databases` +
          `${swept.databases.length > 0 ? ` (${swept.databases.join(', ')})` : ''}, ` +
          `${swept.redisKeys} Redis keys under ${swept.redisPrefixes.length} dead test prefixes`,
      );
    }
  } catch (error) {
    console.warn(`[test-env] sweeping leftovers failed (tests go on): ${String(error)}`);
  }
  const info: TestEnvInfo = { adminUrl, templateDatabase, redisUrl };
  project.provide('ccsTestEnv', info);
}
