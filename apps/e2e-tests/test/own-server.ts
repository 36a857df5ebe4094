import { randomBytes, randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import {
  createTestDatabase,
  reserveRedisPrefix,
  startServerProcess,
  type ServerProcess,
  type TestDatabase,
} from '@ccs/test-env';
import { inject } from 'vitest';

/** The built sync-server (`nx e2e` builds it first). */
export const SYNC_SERVER_ENTRY = resolve(import.meta.dirname, '../../sync-server/dist/main.js');

/**
 * A sync-server process of one test file's own, on a database and a Redis prefix of its own
 * (the suite's shared server is for files whose assertions read its server-wide counters).
 */
export interface OwnServer {
  readonly server: ServerProcess;
  readonly database: TestDatabase;
  readonly jwtSecret: string;
  /** The environment it runs with: start a second node of the same cluster with it. */
  readonly env: Readonly<Record<string, string>>;
  /** Stops the process and drops the database. */
  close(): Promise<void>;
}

/**
 * Starts an {@link OwnServer}; call from `beforeAll`, and `close()` in `afterAll`. `settings`
 * adds to or overrides its environment (limits, …).
 */
export async function startOwnServer(
  label: string,
  settings: Readonly<Record<string, string>> = {},
): Promise<OwnServer> {
  const testEnv = inject('ccsTestEnv');
  const database = await createTestDatabase(testEnv, { label, maxConnections: 2 });
  const jwtSecret = randomBytes(24).toString('hex');
  const env = {
    DATABASE_URL: database.url,
    REDIS_URL: testEnv.redisUrl,
    CCS_REDIS_PREFIX: await reserveRedisPrefix(testEnv.redisUrl, `e2e-${label}`),
    CCS_JWT_SECRET: jwtSecret,
    CCS_RETENTION_HOURS: '0',
    ...settings,
  };
  const server = await startServerProcess({ entry: SYNC_SERVER_ENTRY, env }).catch(
    async (error: unknown) => {
      await database.drop();
      throw error;
    },
  );
  return {
    server,
    database,
    jwtSecret,
    env,
    async close() {
      await server.stop();
      await database.drop();
    },
  };
}

/**
 * A device token as a developer gets one: `POST /v1/dev/tokens` for `deviceId` of `userId`
 * (a new device when omitted; the user and device are made when new), living `expiresIn`.
 * Throws with the server's answer when it is refused.
 */
export async function mintDevToken(
  serverUrl: string,
  request: { readonly userId: string; readonly deviceId?: string; readonly expiresIn?: string },
): Promise<{ readonly token: string; readonly deviceId: string }> {
  const response = await fetch(`${serverUrl}/v1/dev/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      user: request.userId,
      device: request.deviceId ?? randomUUID(),
      create: true,
      ...(request.expiresIn && { expiresIn: request.expiresIn }),
    }),
  });
  const body = (await response.json()) as { token: string; deviceId: string };
  if (response.status !== 200) {
    throw new Error(`POST /v1/dev/tokens answered ${response.status}: ${JSON.stringify(body)}`);
  }
  return body;
}
