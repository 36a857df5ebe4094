import type { Database } from '@ccs/db';
import { Queue, type Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { pino, type Logger } from 'pino';
import type { Registry } from 'prom-client';
import { ChangeDispatcher } from './change-dispatcher.js';
import { publishChangeFeeds, type ChangeFeed } from './change-feed.js';
import { createJobMetrics } from './job-metrics.js';
import {
  offlineNotificationSink,
  WEBHOOK_QUEUE,
  type OnlineUsers,
  type WebhookJobData,
  type WebhookRetryPolicy,
} from './offline-notifications.js';
import type { RetentionPolicy } from './retention.js';
import { startRetentionWorker, type RetentionWorker } from './retention-worker.js';
import { startWebhookWorker } from './webhook-worker.js';
import { closeWorker, settleWithin } from './bounded-close.js';

/** Options of {@link startJobWorkers}. */
export interface JobWorkersOptions {
  readonly db: Database;
  readonly redisUrl: string;
  /** Prefix of every queue key; one per deployment (and per test). */
  readonly prefix: string;
  /** Which of a conversation's members have a device online in it (presence). */
  readonly onlineUsers: OnlineUsers;
  /** Change feeds for sibling apps. @default none */
  readonly feeds?: readonly ChangeFeed[];
  readonly webhooks?: WebhookRetryPolicy & {
    /** @default 10_000 */
    readonly timeoutMs?: number;
    /** @default 8 */
    readonly concurrency?: number;
  };
  /** change_log retention; off when absent. */
  readonly retention?: { readonly policy: RetentionPolicy; readonly everyMs?: number };
  /** A killed worker's job is retried this long after its last lock renewal. @default 30_000 */
  readonly lockDurationMs?: number;
  /** On close, active jobs get this long to finish before they are left to be retried. @default 10_000 */
  readonly closeGraceMs?: number;
  /** Job metrics are registered here when given. */
  readonly registry?: Registry;
  readonly logger?: Logger;
}

/** The background work of one process. */
export interface JobWorkers {
  /** Every queue this deployment uses: webhooks, feeds, retention (for the failed-jobs view). */
  readonly queues: readonly Queue[];
  readonly dispatcher: ChangeDispatcher;
  /** Resolves once the queues are set up in Redis. */
  readonly ready: Promise<void>;
  /**
   * Graceful stop: takes no new job, lets active ones finish (up to `closeGraceMs`; past that
   * they are retried by another worker once their lock expires), finishes the dispatcher's read
   * in hand, then closes queues and connections.
   */
  close(): Promise<void>;
}

/**
 * Starts the worker role: the change dispatcher (one active across nodes) feeding offline
 * notifications and change feeds, the webhook worker, and retention.
 *
 * @example
 * const jobs = startJobWorkers({ db, redisUrl, prefix: 'ccs', onlineUsers, feeds });
 * process.once('SIGTERM', () => void jobs.close());
 */
export function startJobWorkers(options: JobWorkersOptions): JobWorkers {
  const { db, prefix } = options;
  const logger = options.logger ?? pino({ level: 'silent' });
  // BullMQ workers block on Redis: commands wait for it instead of failing.
  const connection = new Redis(options.redisUrl, {
    maxRetriesPerRequest: null,
    connectionName: `${prefix}:jobs`,
  });
  connection.on('error', (error: Error) => logger.debug({ err: error }, 'jobs: connection error'));
  const webhookQueue = new Queue<WebhookJobData>(WEBHOOK_QUEUE, { connection, prefix });
  const feeds = publishChangeFeeds({ feeds: options.feeds ?? [], connection, prefix });
  const dispatcher = new ChangeDispatcher({
    db,
    name: 'jobs',
    sinks: [
      offlineNotificationSink({
        db,
        queue: webhookQueue,
        onlineUsers: options.onlineUsers,
        retry: options.webhooks,
      }),
      feeds.sink,
    ],
    logger: logger.child({ component: 'change-dispatcher' }),
  });
  const webhookWorker = startWebhookWorker({
    db,
    connection,
    prefix,
    timeoutMs: options.webhooks?.timeoutMs,
    concurrency: options.webhooks?.concurrency,
    lockDurationMs: options.lockDurationMs,
    logger: logger.child({ component: 'webhooks' }),
  });
  const retention: RetentionWorker | undefined = options.retention
    ? startRetentionWorker({
        db,
        redisUrl: options.redisUrl,
        prefix,
        policy: options.retention.policy,
        everyMs: options.retention.everyMs,
        logger: logger.child({ component: 'retention' }),
      })
    : undefined;
  const workers: Worker[] = [webhookWorker];
  const queues = [webhookQueue, ...feeds.queues, ...(retention ? [retention.queue] : [])];
  const onError = (error: Error): void => logger.warn({ err: error }, 'jobs: Redis error');
  webhookWorker.on('error', onError);
  for (const queue of [webhookQueue, ...feeds.queues]) queue.on('error', onError);
  if (options.registry) {
    const metrics = createJobMetrics(options.registry);
    for (const worker of workers) metrics.observe(worker);
    if (retention) metrics.observe(retention.worker);
    metrics.watch(queues);
  }
  dispatcher.start();
  const ready = Promise.all([
    feeds.ready,
    webhookWorker.waitUntilReady(),
    retention?.scheduled,
  ]).then(() => undefined);
  ready.catch((error: unknown) => logger.warn({ err: error }, 'jobs: set-up failed'));

  let closing: Promise<void> | undefined;
  return {
    queues,
    dispatcher,
    ready,
    close: () =>
      (closing ??= (async () => {
        const graceMs = options.closeGraceMs ?? 10_000;
        await Promise.all([
          // Its read in hand waits for Redis while Redis is down; the disconnect below ends it.
          settleWithin(dispatcher.close(), graceMs),
          ...workers.map((worker) => closeWorker(worker, graceMs)),
          retention?.close(),
        ]);
        await Promise.all([webhookQueue.close(), ...feeds.queues.map((queue) => queue.close())]);
        connection.disconnect();
      })()),
  };
}
