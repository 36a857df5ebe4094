import { execFile } from 'node:child_process';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { findWebhookDelivery, readTailPosition, type Database } from '@ccs/db';
import { createMessage, seedConversationScenario } from '@ccs/fixtures';
import {
  FailedJobError,
  verifyWebhookSignature,
  WEBHOOK_ID_HEADER,
  WEBHOOK_QUEUE,
  WEBHOOK_SIGNATURE_HEADER,
  type FailedJob,
  type WebhookNotification,
} from '@ccs/jobs';
import { describe, expect, onTestFinished } from 'vitest';
import { createJobsCli } from '../src/jobs-command.js';
import type { SyncServer } from '@ccs/server';
import { TEST_SERVER_JWT_SECRET } from '@ccs/test-server';
import { restCall } from '@ccs/test-clients';
import { test } from './server-fixtures.js';

const ADMIN_TOKEN = 'admin-token-of-the-failed-jobs-tests-42';
/** How long a poll waits for the jobs to get somewhere. */
const WAIT = { timeout: 10_000, interval: 50 };

/** A request the receiver got, and what it answered. */
interface Received {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  readonly answered: number;
}

/** A webhook receiver on loopback that answers every POST with `status` (changeable). */
interface Receiver {
  readonly url: string;
  readonly received: readonly Received[];
  status: number;
}

/** Starts a receiver, closed when the test ends. */
async function startReceiver(status: number): Promise<Receiver> {
  const received: Received[] = [];
  const receiver = { url: '', received, status };
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const answered = receiver.status;
      received.push({
        headers: request.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        answered,
      });
      response.writeHead(answered, { 'content-type': 'text/plain' }).end(String(answered));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onTestFinished(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve, reject) =>
      server.close((error) => (error ? reject(error) : resolve())),
    );
  });
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ccs-hook`;
  return receiver;
}

/** The failed jobs as `GET /v1/admin/jobs/failed` lists them. */
async function failedJobs(server: SyncServer, query = ''): Promise<FailedJob[]> {
  const answer = await restCall(server.url, 'GET', `/v1/admin/jobs/failed${query}`, {
    token: ADMIN_TOKEN,
  });
  expect(answer.status).toBe(200);
  return (answer.body as { jobs: FailedJob[] }).jobs;
}

/** Checks a notification as a receiver should, and returns it parsed. */
function verified(request: Received, secret: string): WebhookNotification {
  verifyWebhookSignature({
    secret,
    header: request.headers[WEBHOOK_SIGNATURE_HEADER] as string | undefined,
    body: request.body,
  });
  const notification = JSON.parse(request.body) as WebhookNotification;
  expect(request.headers[WEBHOOK_ID_HEADER]).toBe(notification.id);
  return notification;
}

/**
 * A real failed notification: a server running the jobs in-process with one attempt per
 * notification, an app endpoint whose receiver answers 500, and a message to a member with no
 * device online. Resolves once `GET /v1/admin/jobs/failed` lists the job.
 */
async function failedNotification(
  startServer: (env?: Readonly<Record<string, string>>) => Promise<SyncServer>,
  db: Database,
) {
  const receiver = await startReceiver(500);
  const server = await startServer({
    CCS_ROLE: 'all',
    CCS_ADMIN_TOKEN: ADMIN_TOKEN,
    CCS_WEBHOOK_ATTEMPTS: '1',
    CCS_JOB_LOCK_MS: '1000',
  });
  const created = await restCall(server.url, 'POST', '/v1/admin/webhooks', {
    token: ADMIN_TOKEN,
    json: { url: receiver.url },
  });
  expect(created.status).toBe(201);
  const endpoint = created.body as { id: string; secret: string };

  const jobs = server.jobs!;
  await jobs.ready;
  await expect.poll(() => jobs.dispatcher.active, WAIT).toBe(true);
  // A first run starts "from now" once its first read has saved a position: a message committed
  // before that would be history, so wait for the position too.
  await expect.poll(() => readTailPosition(db, 'jobs'), WAIT).toBeDefined();

  const scenario = await seedConversationScenario(db, {
    jwtSecret: TEST_SERVER_JWT_SECRET,
    devicesPerUser: [1, 1],
  });
  const [alice, bob] = scenario.users;
  const sent = await createMessage(db, alice!.devices[0]!, scenario.conversation.id, {
    body: 'are you there?',
  });

  await expect.poll(() => failedJobs(server), WAIT).toHaveLength(1);
  const [job] = await failedJobs(server);
  expect(job).toMatchObject({
    queue: WEBHOOK_QUEUE,
    name: 'message.created',
    attemptsMade: 1,
    failedReason: expect.stringContaining('500'),
    failedAt: expect.any(String),
    data: { endpointId: endpoint.id, recipientId: bob!.user.id },
  });
  // The one attempt reached the receiver, signed.
  expect(receiver.received.map(({ answered }) => answered)).toEqual([500]);
  expect(verified(receiver.received[0]!, endpoint.secret)).toMatchObject({
    type: 'change.offline',
    recipientId: bob!.user.id,
    change: { stream: scenario.stream, seq: sent.seq, kind: 'message.created' },
  });
  return { server, receiver, endpoint, job: job!, recipient: bob!.user, sent };
}

describe('failed background jobs', () => {
  test('a failed webhook is listed by the admin API and delivered once retried', async ({
    startServer,
    database,
  }) => {
    const { server, receiver, endpoint, job, recipient, sent } = await failedNotification(
      startServer,
      database.db,
    );
    expect(await failedJobs(server, `?queue=${WEBHOOK_QUEUE}&limit=1`)).toHaveLength(1);
    const key = {
      endpointId: endpoint.id,
      stream: sent.stream,
      seq: sent.seq,
      recipientId: recipient.id,
    };
    expect(await findWebhookDelivery(database.db, key)).toMatchObject({
      status: 'failed',
      responseStatus: 500,
    });

    receiver.status = 200;
    const retried = await restCall(
      server.url,
      'POST',
      `/v1/admin/jobs/${encodeURIComponent(job.queue)}/${encodeURIComponent(job.id)}/retry`,
      { token: ADMIN_TOKEN },
    );
    expect({ status: retried.status, body: retried.body }).toEqual({
      status: 200,
      body: { ok: true },
    });

    await expect.poll(() => receiver.received.length, WAIT).toBe(2);
    const delivered = receiver.received[1]!;
    expect(delivered.answered).toBe(200);
    const notification = verified(delivered, endpoint.secret);
    expect(notification).toEqual({
      id: `${sent.stream}/${sent.seq}/${recipient.id}`,
      type: 'change.offline',
      recipientId: recipient.id,
      change: expect.objectContaining({
        stream: sent.stream,
        seq: sent.seq,
        kind: 'message.created',
        data: expect.objectContaining({ id: sent.message.id, body: 'are you there?' }),
      }),
    });
    // The retry is the same notification (same id) as the failed attempt.
    expect(delivered.headers[WEBHOOK_ID_HEADER]).toBe(
      receiver.received[0]!.headers[WEBHOOK_ID_HEADER],
    );
    await expect.poll(() => failedJobs(server), WAIT).toEqual([]);
    await expect
      .poll(() => findWebhookDelivery(database.db, key), WAIT)
      .toMatchObject({ status: 'delivered', responseStatus: 200, attempts: 1 });

    // Done now: retrying it again is a conflict, and nothing more is POSTed.
    const again = await restCall(
      server.url,
      'POST',
      `/v1/admin/jobs/${job.queue}/${encodeURIComponent(job.id)}/retry`,
      { token: ADMIN_TOKEN },
    );
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ code: 'conflict' });
    expect(receiver.received).toHaveLength(2);
  });

  test('ccs-jobs lists the failed webhook and retries it', async ({
    startServer,
    database,
    testEnv,
    redisNamespace,
  }) => {
    const { server, receiver, endpoint, job } = await failedNotification(startServer, database.db);
    const env = { REDIS_URL: testEnv.redisUrl, CCS_REDIS_PREFIX: redisNamespace.prefix };
    const lines: string[] = [];
    const run = (...args: string[]) =>
      createJobsCli((line) => lines.push(line), env).parseAsync(['node', 'ccs-jobs', ...args]);

    await run('failed', '--json');
    expect(JSON.parse(lines.at(-1)!)).toEqual({ jobs: [job] });
    lines.length = 0;
    await run('failed', '--queue', WEBHOOK_QUEUE);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`${WEBHOOK_QUEUE}  ${job.id}  message.created  attempts=1`);
    expect(lines[0]).toContain('500');
    await run('failed', '--queue', 'ccs-retention');
    expect(lines.at(-1)).toBe('no failed jobs');

    // Unknown queues and jobs reject with their code.
    await expect(run('failed', '--queue', 'nope')).rejects.toMatchObject({
      name: 'FailedJobError',
      code: 'not_found',
    });
    await expect(run('retry', 'nope', job.id)).rejects.toThrow(FailedJobError);
    await expect(run('retry', WEBHOOK_QUEUE, 'no-such-job')).rejects.toMatchObject({
      code: 'not_found',
      message: expect.stringContaining('no-such-job'),
    });

    receiver.status = 200;
    await run('retry', WEBHOOK_QUEUE, job.id);
    expect(lines.at(-1)).toBe(`retried ${WEBHOOK_QUEUE} ${job.id}`);
    await expect.poll(() => receiver.received.length, WAIT).toBe(2);
    expect(receiver.received[1]!.answered).toBe(200);
    verified(receiver.received[1]!, endpoint.secret);
    await expect.poll(() => failedJobs(server), WAIT).toEqual([]);
    lines.length = 0;
    await run('failed', '--json');
    expect(JSON.parse(lines[0]!)).toEqual({ jobs: [] });
    await expect(run('retry', WEBHOOK_QUEUE, job.id)).rejects.toMatchObject({ code: 'conflict' });
  });

  test('the ccs-jobs binary prints the code on stderr and exits 1', async ({
    testEnv,
    redisNamespace,
  }) => {
    const cli = fileURLToPath(new URL('../src/jobs-cli.ts', import.meta.url));
    const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>(
      (resolve) => {
        execFile(
          process.execPath,
          ['--import', 'tsx', '--conditions=@ccs/source', cli, 'retry', 'nope', '1'],
          {
            env: {
              ...process.env,
              REDIS_URL: testEnv.redisUrl,
              CCS_REDIS_PREFIX: redisNamespace.prefix,
            },
            timeout: 20_000,
          },
          (error, stdout, stderr) =>
            resolve({ code: error ? (error.code as number | null) : 0, stdout, stderr }),
        );
      },
    );
    expect(result).toMatchObject({
      code: 1,
      stdout: '',
      stderr: expect.stringMatching(/^ccs-jobs: not_found: no queue "nope"; queues: ccs-webhooks/),
    });
  });
});
