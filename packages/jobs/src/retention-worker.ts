import type { Database } from '@ccs/db';
import { Queue, QueueEvents, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { pino, type Logger } from 'pino';
import { closeWorker, settleWithin } from './bounded-close.js';
import { applyRetention, type RetentionPolicy } from './retention.js';

/** Name of the retention queue (under the configured prefix). */
export const RETENTION_QUEUE = 'ccs-retention';
const SCHEDULER_ID = 'trim-change-log';

/** Options of {@link startRetentionWorker}. */
export interface RetentionWorkerOptions {
  readonly db: Database;
  readonly redisUrl: string;
  /** BullMQ key prefix; keep one per deployment (and per test). @default 'ccs' */
  readonly prefix?: string;
  readonly policy: RetentionPolicy;
  /** How often retention runs. Every node may run a worker; BullMQ runs each tick once. @default 600_000 */
  readonly everyMs?: number;
  /** On close, a run in progress gets this long to finish. @default 10_000 */
  readonly closeGraceMs?: number;
  /** @default a silent logger */
  readonly logger?: Logger;
}

/** A running retention worker and its schedule. */
export interface RetentionWorker {
  readonly queue: Queue;
  readonly worker: Worker;
  /** Resolves once the schedule is in Redis and the worker listens (never rejects). */
  readonly scheduled: Promise<void>;
  /** Runs retention now (through the queue, like a scheduled run); resolves with rows removed. */
  runNow(): Promise<number>;
  close(): Promise<void>;
}

/**
 * Schedules change_log retention with BullMQ: a job scheduler enqueues a run every `everyMs`,
 * and this process's worker applies the policy. Safe to start on every node.
 *
 * @example
 * const retention = startRetentionWorker({ db, redisUrl, policy: { maxAgeMs: 7 * 86_400_000 } });
 * // on shutdown: await retention.close();
 */
export function startRetentionWorker(options: RetentionWorkerOptions): RetentionWorker {
  const prefix = options.prefix ?? 'ccs';
  const logger = options.logger ?? pino({ level: 'silent' });
  // Workers block on Redis: BullMQ requires maxRetriesPerRequest to be null.
  const connection = new Redis(options.redisUrl, {
    maxRetriesPerRequest: null,
    connectionName: `${prefix}:retention`,
  });
  const queue = new Queue(RETENTION_QUEUE, { connection, prefix });
  const events = new QueueEvents(RETENTION_QUEUE, { connection, prefix });
  const worker = new Worker<unknown, number>(
    RETENTION_QUEUE,
    async () => {
      const removed = await applyRetention(options.db, options.policy);
      if (removed > 0) logger.info({ removed }, 'change_log retention applied');
      return removed;
    },
    { connection, prefix, concurrency: 1 },
  );
  worker.on('failed', (job, error) =>
    logger.warn({ err: error, job: job?.id }, 'retention failed'),
  );
  // Redis may be down: log, never crash, and let the connection keep retrying.
  const onError = (error: Error): void => logger.warn({ err: error }, 'retention: Redis error');
  connection.on('error', onError);
  queue.on('error', onError);
  worker.on('error', onError);
  events.on('error', onError);
  // Scheduling waits for Redis; the service must not, so it happens in the background.
  const scheduled = queue
    .upsertJobScheduler(
      SCHEDULER_ID,
      { every: options.everyMs ?? 600_000 },
      { name: SCHEDULER_ID, opts: { removeOnComplete: 10, removeOnFail: 50 } },
    )
    .then(() => Promise.all([worker.waitUntilReady(), events.waitUntilReady()]))
    .then(
      () => undefined,
      (error: unknown) => logger.warn({ err: error }, 'retention: scheduling failed'),
    );

  return {
    queue,
    worker,
    scheduled,
    async runNow() {
      await scheduled;
      const job = await queue.add('run-now', {}, { removeOnComplete: 10, removeOnFail: 50 });
      return (await job.waitUntilFinished(events)) as number;
    },
    async close() {
      // A run in progress gets a while to finish; past that, the next tick runs again.
      // QueueEvents.close() waits for a connection that may never come while Redis is down, so
      // it gets a bounded wait too.
      await closeWorker(worker, options.closeGraceMs ?? 10_000);
      await settleWithin(events.close(), 2000);
      await queue.close();
      connection.disconnect();
    },
  };
}
