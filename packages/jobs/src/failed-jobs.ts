import type { Queue } from 'bullmq';

/** A job in a queue's failed set. */
export interface FailedJob {
  readonly queue: string;
  readonly id: string;
  readonly name: string;
  readonly failedReason: string;
  readonly attemptsMade: number;
  /** ISO time of the last failure. */
  readonly failedAt: string | null;
  readonly data: unknown;
}

/** Thrown by {@link retryFailedJob}. */
export class FailedJobError extends Error {
  override readonly name = 'FailedJobError';
  constructor(
    readonly code: 'not_found' | 'conflict',
    message: string,
  ) {
    super(message);
  }
}

/** The failed jobs of these queues, newest first, at most `limit` per queue. */
export async function listFailedJobs(queues: readonly Queue[], limit = 50): Promise<FailedJob[]> {
  const lists = await Promise.all(
    queues.map(async (queue) =>
      (await queue.getFailed(0, limit - 1)).map((job): FailedJob => ({
        queue: queue.name,
        id: job.id ?? '',
        name: job.name,
        failedReason: job.failedReason,
        attemptsMade: job.attemptsMade,
        failedAt: job.finishedOn ? new Date(job.finishedOn).toISOString() : null,
        data: job.data,
      })),
    ),
  );
  return lists.flat().sort((a, b) => (b.failedAt ?? '').localeCompare(a.failedAt ?? ''));
}

/**
 * Moves a failed job back to its queue, with its attempts reset. Throws `not_found` for an
 * unknown queue or job, `conflict` for a job that is not failed.
 */
export async function retryFailedJob(
  queues: readonly Queue[],
  queueName: string,
  id: string,
): Promise<void> {
  const queue = queues.find((candidate) => candidate.name === queueName);
  if (!queue) {
    throw new FailedJobError(
      'not_found',
      `no queue "${queueName}"; queues: ${queues.map((known) => known.name).join(', ')}`,
    );
  }
  const job = await queue.getJob(id);
  if (!job) throw new FailedJobError('not_found', `no job "${id}" in ${queueName}`);
  if (!(await job.isFailed())) {
    throw new FailedJobError('conflict', `job "${id}" of ${queueName} is not failed`);
  }
  await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
}
