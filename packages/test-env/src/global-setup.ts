import type { TestProject } from 'vitest/node';
import { ensureTemplateDatabase } from './template-database.js';
import type { TestEnvInfo } from './test-env-info.js';

/**
 * vitest `globalSetup`: migrates the template database once per migrations hash and provides
 * connection info to every worker as `inject('ccsTestEnv')`.
 *
 * Reads `CCS_TEST_DATABASE_URL` (else `DATABASE_URL`, else the local default) for the admin
 * connection and `REDIS_URL` for Redis.
 */
export default async function setup(project: TestProject): Promise<void> {
  const adminUrl =
    process.env['CCS_TEST_DATABASE_URL'] ??
    process.env['DATABASE_URL'] ??
    'postgres://postgres@127.0.0.1:5432/postgres';
  const redisUrl = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
  const templateDatabase = await ensureTemplateDatabase(adminUrl);
  const info: TestEnvInfo = { adminUrl, templateDatabase, redisUrl };
  project.provide('ccsTestEnv', info);
}
