import { resolve } from 'node:path';
import { createTestDatabase, reserveRedisPrefix, startServerProcess } from '@ccs/test-env';
import type { TestProject } from 'vitest/node';

/** What the suite knows about the server process it runs against. */
export interface E2eServerInfo {
  readonly url: string;
  readonly databaseUrl: string;
  readonly jwtSecret: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    ccsE2eServer: E2eServerInfo;
  }
}

const entry = resolve(import.meta.dirname, '../../sync-server/dist/main.js');

/**
 * Starts the built sync-server as a child process on a database of its own (`nx e2e` builds it
 * first), and stops it after the suite.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const database = await createTestDatabase(project.getProvidedContext().ccsTestEnv, {
    label: 'e2e',
  });
  await database.close();
  const jwtSecret = 'e2e-secret-0123456789abcdef';
  const server = await startServerProcess({
    entry,
    env: {
      DATABASE_URL: database.url,
      REDIS_URL: project.getProvidedContext().ccsTestEnv.redisUrl,
      CCS_REDIS_PREFIX: await reserveRedisPrefix(
        project.getProvidedContext().ccsTestEnv.redisUrl,
        'e2e-shared',
      ),
      CCS_JWT_SECRET: jwtSecret,
      CCS_RETENTION_HOURS: '0',
    },
  });
  project.provide('ccsE2eServer', { url: server.url, databaseUrl: database.url, jwtSecret });
  return async () => {
    await server.stop();
    await database.drop();
  };
}
