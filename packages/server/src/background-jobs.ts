import { createDatabase } from '@ccs/db';
import { startJobWorkers, type JobWorkers, type OnlineUsers } from '@ccs/jobs';
import { parsePresenceEntry, RedisPresenceStore } from '@ccs/realtime';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { SyncServerConfig } from './config.js';

/** The worker role's jobs, and the presence connection they read who is online through. */
export interface BackgroundJobs {
  readonly jobs: JobWorkers;
  /** Graceful: active jobs finish first (see {@link JobWorkers.close}). */
  close(): Promise<void>;
}

/**
 * Starts the background jobs of a `worker` or `all` process: offline notifications (presence as
 * the gateways keep it in Redis), change feeds and retention, with metrics on `registry`.
 */
export function startBackgroundJobs(
  config: SyncServerConfig,
  registry: Registry,
  logger: Logger,
): BackgroundJobs {
  // A pool of their own: the dispatcher holds one connection (its lock) for as long as it runs,
  // and jobs never wait behind sends, nor sends behind jobs.
  const database = createDatabase({
    url: config.databaseUrl,
    maxConnections: 4,
    applicationName: 'ccs-jobs',
    onConnectionError: (error) =>
      logger.warn({ err: error }, 'PostgreSQL ended a jobs connection; the pool opens a new one'),
  });
  const db = database.db;
  // Fails at once while Redis is down (nothing queues up): the dispatcher retries its read.
  const presenceRedis = new Redis(config.redisUrl, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectionName: `${config.redisPrefix}:jobs-presence`,
  });
  presenceRedis.on('error', (error: Error) => logger.debug({ err: error }, 'redis presence error'));
  const presence = new RedisPresenceStore({
    redis: presenceRedis,
    prefix: config.redisPrefix,
    ...config.presence,
  });
  const onlineUsers: OnlineUsers = async (stream, userIds) => {
    const online = new Set(
      (await presence.list(stream)).map((entry) => parsePresenceEntry(entry).userId),
    );
    return new Set(userIds.filter((userId) => online.has(userId)));
  };
  const jobs = startJobWorkers({
    db,
    redisUrl: config.redisUrl,
    prefix: config.redisPrefix,
    onlineUsers,
    feeds: config.changeFeeds,
    webhooks: config.webhooks,
    retention:
      config.retentionHours > 0
        ? {
            policy: { maxAgeMs: config.retentionHours * 3_600_000 },
            everyMs: config.retentionEveryMinutes * 60_000,
          }
        : undefined,
    lockDurationMs: config.jobLockMs,
    closeGraceMs: config.jobCloseGraceMs,
    registry,
    logger: logger.child({ component: 'jobs' }),
  });
  return {
    jobs,
    async close() {
      await jobs.close();
      presenceRedis.disconnect();
      await database.close();
    },
  };
}
