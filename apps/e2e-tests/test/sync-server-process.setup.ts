import { createTestDatabase, reserveRedisPrefix } from '@ccs/test-env';
import { startSyncServerProcess } from '@ccs/test-server';
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
  const { redisUrl } = project.getProvidedContext().ccsTestEnv;
  const server = await startSyncServerProcess({
    databaseUrl: database.url,
    redisUrl,
    redisPrefix: await reserveRedisPrefix(redisUrl, 'e2e-shared'),
    jwtSecret,
  });
  project.provide('ccsE2eServer', { url: server.url, databaseUrl: database.url, jwtSecret });
  return async () => {
    await server.stop();
    await database.drop();
  };
}
