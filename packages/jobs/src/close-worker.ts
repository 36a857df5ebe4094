import type { Worker } from 'bullmq';

/** Lets a worker's active jobs finish for up to `graceMs`, then stops it regardless. */
export async function closeWorker(worker: Worker, graceMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const graceful = worker.close();
  const finished = await Promise.race([
    graceful.then(() => true),
    new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), graceMs))),
  ]);
  clearTimeout(timer);
  if (!finished) await worker.close(true);
}
