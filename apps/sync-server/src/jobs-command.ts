import {
  FailedJobError,
  listFailedJobs,
  openJobQueues,
  retryFailedJob,
  type FailedJob,
} from '@ccs/jobs';
import type { Queue } from 'bullmq';
import { Command, InvalidArgumentError, Option } from 'commander';
import { Redis } from 'ioredis';
import { loadConfig } from '@ccs/server';

/** `--limit`: an integer from 1 to 500. */
function parseLimit(text: string): number {
  const limit = Number(text);
  if (!Number.isInteger(limit) || limit < 1 || limit > 500) {
    throw new InvalidArgumentError('expected an integer from 1 to 500');
  }
  return limit;
}

/** One line of `ccs-jobs failed`: when, where, which, how often, why. */
export function formatFailedJob(job: FailedJob): string {
  return [
    job.failedAt ?? '-',
    job.queue,
    job.id,
    job.name,
    `attempts=${job.attemptsMade}`,
    job.failedReason.replace(/\s+/g, ' '),
  ].join('  ');
}

/**
 * Runs `work` on every queue of the deployment (`REDIS_URL`, `CCS_REDIS_PREFIX`, the feeds of
 * `CCS_CHANGE_FEEDS`), then closes the queues and the connection.
 */
async function withQueues<T>(
  env: NodeJS.ProcessEnv,
  work: (queues: readonly Queue[]) => Promise<T>,
): Promise<T> {
  const config = loadConfig(env);
  // A command line fails rather than waits for ever while Redis is away: one connection
  // attempt, no reconnection, commands not retried.
  const connection = new Redis(config.redisUrl, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    connectTimeout: 5000,
    retryStrategy: () => null,
    connectionName: `${config.redisPrefix}:ccs-jobs`,
  });
  let connectionError: Error | undefined;
  connection.on('error', (error: Error) => {
    connectionError ??= error;
  });
  try {
    await connection.connect();
  } catch (error) {
    connection.disconnect();
    // ioredis rejects with "Connection is closed."; the cause came as an 'error' event.
    const reason = (connectionError ?? (error instanceof Error ? error : undefined))?.message;
    throw new Error(`Redis at ${new URL(config.redisUrl).host} is not reachable: ${reason}`, {
      cause: error,
    });
  }
  const queues = openJobQueues({
    connection,
    prefix: config.redisPrefix,
    feeds: config.changeFeeds,
    retention: config.retentionHours > 0,
  });
  for (const queue of queues) queue.on('error', () => undefined);
  try {
    return await work(queues);
  } finally {
    await Promise.all(queues.map((queue) => queue.close()));
    connection.disconnect();
  }
}

/**
 * The `ccs-jobs` program, for the operators of a deployment: `failed` lists the jobs that ran out
 * of attempts (webhooks, change feeds, retention), newest first; `retry <queue> <id>` runs one
 * again with its attempts reset. Reads `REDIS_URL`, `CCS_REDIS_PREFIX` and `CCS_CHANGE_FEEDS`
 * like the server. An unknown queue or job rejects with a {@link FailedJobError} (`not_found`,
 * or `conflict` for a job that is not failed).
 *
 * @example
 * await createJobsCli((line) => console.log(line)).parseAsync(['node', 'ccs-jobs', 'failed', '--json']);
 */
export function createJobsCli(
  out: (text: string) => void = (text) => process.stdout.write(`${text}\n`),
  env: NodeJS.ProcessEnv = process.env,
): Command {
  const program = new Command('ccs-jobs').description(
    'Failed background jobs of a CCS deployment: list them, retry one',
  );
  program
    .command('failed')
    .description('list failed jobs, newest first')
    .option('--queue <name>', 'only this queue (e.g. ccs-webhooks)')
    .addOption(
      new Option('--limit <n>', 'at most this many jobs (1-500)').argParser(parseLimit).default(50),
    )
    .option('--json', 'print { jobs: [...] } as JSON', false)
    .action(async (options: { queue?: string; limit: number; json: boolean }) => {
      const jobs = await withQueues(env, async (queues) => {
        let chosen = queues;
        if (options.queue !== undefined) {
          chosen = queues.filter((queue) => queue.name === options.queue);
          if (chosen.length === 0) {
            throw new FailedJobError(
              'not_found',
              `no queue "${options.queue}"; queues: ${queues.map((queue) => queue.name).join(', ')}`,
            );
          }
        }
        return (await listFailedJobs(chosen, options.limit)).slice(0, options.limit);
      });
      if (options.json) out(JSON.stringify({ jobs }));
      else if (jobs.length === 0) out('no failed jobs');
      else for (const job of jobs) out(formatFailedJob(job));
    });
  program
    .command('retry')
    .description('run a failed job again, with its attempts reset')
    .argument('<queue>', 'the queue of the job (as `failed` lists it)')
    .argument('<id>', 'the job id')
    .action(async (queue: string, id: string) => {
      await withQueues(env, (queues) => retryFailedJob(queues, queue, id));
      out(`retried ${queue} ${id}`);
    });
  return program;
}
