import type { Job, Queue, Worker } from 'bullmq';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** The background jobs' Prometheus metrics, registered on the registry given. */
export interface JobMetrics {
  readonly completed: Counter<'queue'>;
  /** `final` is `true` when no attempt is left (the job stays failed), `false` for a retry. */
  readonly failed: Counter<'queue' | 'final'>;
  readonly durationSeconds: Histogram<'queue' | 'outcome'>;
  /** Jobs per queue and state, read from Redis at each scrape. */
  readonly jobs: Gauge<'queue' | 'state'>;
  /** Counts and times this worker's jobs. */
  observe(worker: Worker): void;
  /** Reports these queues' job counts at each scrape. */
  watch(queues: readonly Queue[]): void;
}

const STATES = ['waiting', 'active', 'delayed', 'completed', 'failed', 'prioritized'] as const;

/** Registers the job metrics on `registry`. */
export function createJobMetrics(registry: Registry): JobMetrics {
  const watched: Queue[] = [];
  const completed = new Counter({
    name: 'ccs_jobs_completed_total',
    help: 'Jobs this process completed',
    labelNames: ['queue'] as const,
    registers: [registry],
  });
  const failed = new Counter({
    name: 'ccs_jobs_failed_total',
    help: 'Job attempts that failed in this process (final: no attempt left)',
    labelNames: ['queue', 'final'] as const,
    registers: [registry],
  });
  const durationSeconds = new Histogram({
    name: 'ccs_job_duration_seconds',
    help: 'Time a job attempt ran in this process',
    labelNames: ['queue', 'outcome'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const jobs = new Gauge({
    name: 'ccs_jobs',
    help: 'Jobs per queue and state (all processes), read from Redis at scrape time',
    labelNames: ['queue', 'state'] as const,
    registers: [registry],
    async collect() {
      // Redis down: the scrape goes on without these.
      const all = await Promise.all(
        watched.map(async (queue) => ({ queue, counts: await queue.getJobCounts(...STATES) })),
      ).catch(() => []);
      for (const { queue, counts } of all) {
        for (const state of STATES) jobs.set({ queue: queue.name, state }, counts[state] ?? 0);
      }
    },
  });
  const ran = (job: Job | undefined): number | undefined =>
    job?.processedOn ? ((job.finishedOn ?? Date.now()) - job.processedOn) / 1000 : undefined;
  return {
    completed,
    failed,
    durationSeconds,
    jobs,
    observe(worker) {
      worker.on('completed', (job) => {
        completed.inc({ queue: worker.name });
        const seconds = ran(job);
        if (seconds !== undefined)
          durationSeconds.observe({ queue: worker.name, outcome: 'completed' }, seconds);
      });
      worker.on('failed', (job) => {
        const final = !job || job.attemptsMade >= (job.opts.attempts ?? 1);
        failed.inc({ queue: worker.name, final: String(final) });
        const seconds = ran(job);
        if (seconds !== undefined)
          durationSeconds.observe({ queue: worker.name, outcome: 'failed' }, seconds);
      });
    },
    watch(queues) {
      watched.push(...queues);
    },
  };
}
