import { insertWebhookEndpoint, type WebhookEndpoint } from '@ccs/db';
import { parsePresenceEntry, RedisPresenceStore } from '@ccs/realtime';
import type { TestDatabase, TestEnvInfo, RedisNamespace } from '@ccs/test-env/vitest';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { expect } from 'vitest';
import { startJobWorkers, type JobWorkers, type JobWorkersOptions } from '../src/job-workers.js';
import type { WebhookReceiver } from '../src/testing.js';

/** What a test of the job workers gets: the workers, real Redis presence, a metrics registry. */
export interface TestJobs {
  readonly jobs: JobWorkers;
  readonly presence: RedisPresenceStore;
  readonly registry: Registry;
  close(): Promise<void>;
}

/**
 * Starts the job workers under the test's Redis prefix, with presence read from Redis as the
 * gateways keep it; resolves once the queues are ready and the dispatcher reads.
 */
export async function startTestJobs(
  fixtures: { database: TestDatabase; testEnv: TestEnvInfo; redisNamespace: RedisNamespace },
  options: Partial<JobWorkersOptions> = {},
): Promise<TestJobs> {
  const presenceRedis = new Redis(fixtures.testEnv.redisUrl);
  const presence = new RedisPresenceStore({
    redis: presenceRedis,
    prefix: fixtures.redisNamespace.prefix,
  });
  const registry = new Registry();
  const jobs = startJobWorkers({
    db: fixtures.database.db,
    redisUrl: fixtures.testEnv.redisUrl,
    prefix: fixtures.redisNamespace.prefix,
    onlineUsers: async (stream, userIds) => {
      const online = new Set(
        (await presence.list(stream)).map((entry) => parsePresenceEntry(entry).userId),
      );
      return new Set(userIds.filter((userId) => online.has(userId)));
    },
    registry,
    lockDurationMs: 1000,
    ...options,
  });
  await jobs.ready;
  await expect.poll(() => jobs.dispatcher.active, POLL).toBe(true);
  return {
    jobs,
    presence,
    registry,
    async close() {
      await jobs.close();
      presenceRedis.disconnect();
    },
  };
}

/** An app endpoint (every offline recipient's notifications) POSTing to the receiver. */
export async function appEndpoint(
  fixtures: { database: TestDatabase },
  receiver: WebhookReceiver,
): Promise<WebhookEndpoint> {
  receiver.secret = 'whsec-test-0123456789abcdef';
  return insertWebhookEndpoint(fixtures.database.db, {
    userId: null,
    url: receiver.url,
    secret: receiver.secret,
  });
}

/** How the tests wait for a condition (`expect.poll`): checked every 10 ms, for up to 20 s. */
export const POLL = { timeout: 20_000, interval: 10 } as const;
