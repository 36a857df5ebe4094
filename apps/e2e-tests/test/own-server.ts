import { randomBytes, randomUUID } from 'node:crypto';
import { restCall } from '@ccs/test-clients';
import { createTestDatabase, reserveRedisPrefix, type TestDatabase } from '@ccs/test-env';
import { startSyncServerProcess, type SyncServerProcess } from '@ccs/test-server';
import { inject } from 'vitest';

/**
 * A sync-server process of one test file's own, on a database and a Redis prefix of its own
 * (the suite's shared server is for files whose assertions read its server-wide counters).
 */
export interface OwnServer {
  readonly server: SyncServerProcess;
  readonly database: TestDatabase;
  readonly jwtSecret: string;
  /** Starts another node of the same cluster (same database, prefix and settings). */
  startNode(): Promise<SyncServerProcess>;
  /** Stops the processes and drops the database. */
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
  const options = {
    databaseUrl: database.url,
    redisUrl: testEnv.redisUrl,
    redisPrefix: await reserveRedisPrefix(testEnv.redisUrl, `e2e-${label}`),
    jwtSecret: randomBytes(24).toString('hex'),
    env: settings,
  };
  const nodes: SyncServerProcess[] = [];
  const startNode = async (): Promise<SyncServerProcess> => {
    const node = await startSyncServerProcess(options);
    nodes.push(node);
    return node;
  };
  const server = await startNode().catch(async (error: unknown) => {
    await database.drop();
    throw error;
  });
  return {
    server,
    database,
    jwtSecret: options.jwtSecret,
    startNode,
    async close() {
      await Promise.all(nodes.map((node) => node.stop()));
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
  const answer = await restCall(serverUrl, 'POST', '/v1/dev/tokens', {
    json: {
      user: request.userId,
      device: request.deviceId ?? randomUUID(),
      create: true,
      ...(request.expiresIn && { expiresIn: request.expiresIn }),
    },
  });
  if (answer.status !== 200) {
    throw new Error(
      `POST /v1/dev/tokens answered ${answer.status}: ${JSON.stringify(answer.body)}`,
    );
  }
  return answer.body as { readonly token: string; readonly deviceId: string };
}
