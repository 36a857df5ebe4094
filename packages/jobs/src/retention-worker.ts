import type { Database } from '@ccs/db';
import { Queue, QueueEvents, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { pino, type Logger } from 'pino';
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
  /** @default a silent logger */
  readonly logger?: Logger;
}

/** A running retention worker and its schedule. */
export interface RetentionWorker {
  readonly queue: Queue;
  /** Runs retention now (through the queue, like a scheduled run); resolves with rows removed. */
  runNow(): Promise<number>;
  close(): Promise<void>;
}

/**
 * Schedules change_log retention with BullMQ: a job scheduler enqueues a run every `everyMs`,
 * and this process's worker applies the policy. Safe to start on every node.
 *
 * @example
 * const retention = await startRetentionWorker({ db, redisUrl, policy: { maxAgeMs: 7 * 86_400_000 } });
 * // on shutdown: await retention.close();
 */
export async function startRetentionWorker(
  options: RetentionWorkerOptions,
): Promise<RetentionWorker> {
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
  await queue.upsertJobScheduler(
    SCHEDULER_ID,
    { every: options.everyMs ?? 600_000 },
    { name: SCHEDULER_ID, opts: { removeOnComplete: 10, removeOnFail: 50 } },
  );
  await Promise.all([worker.waitUntilReady(), events.waitUntilReady()]);

  return {
    queue,
    async runNow() {
      const job = await queue.add('run-now', {}, { removeOnComplete: 10, removeOnFail: 50 });
      return (await job.waitUntilFinished(events)) as number;
    },
    async close() {
      await worker.close();
      await events.close();
      await queue.close();
      connection.disconnect();
    },
  };
}
