import type { Worker } from 'bullmq';

/**
 * Resolves true once `closing` settles, or false after `ms`, leaving nothing pending behind:
 * closes that wait for Redis must not hold a shutdown forever.
 */
export async function settleWithin(closing: Promise<unknown>, ms: number): Promise<boolean> {
  const settled = closing.then(
    () => true,
    () => true,
  );
  let stop: () => void = () => undefined;
  const expired = new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    stop = () => {
      clearTimeout(timer);
      resolve(false);
    };
  });
  const result = await Promise.race([settled, expired]);
  stop();
  return result;
}

/**
 * Closes a worker gracefully: it takes no new job and its active jobs finish. Resolves true once
 * closed, or false after `graceMs` (Redis unreachable, a job that hangs): the caller then closes
 * the connection, and the jobs left active are retried elsewhere once their locks expire.
 */
export function closeWorker(worker: Worker, graceMs: number): Promise<boolean> {
  return settleWithin(worker.close(), graceMs);
}
