import { randomBytes } from 'node:crypto';
import { findWebhookDelivery, insertWebhookEndpoint, type WebhookEndpoint } from '@ccs/db';
import { createMessage, seedConversationScenario, type ConversationScenario } from '@ccs/fixtures';
import { WebhookReceiver } from '@ccs/jobs/testing';
import { TestClient } from '@ccs/test-clients';
import {
  createTestDatabase,
  reserveRedisPrefix,
  type ServerProcess,
  type TestDatabase,
} from '@ccs/test-env';
import { startSyncServerProcess, waitForChangeDispatcher } from '@ccs/test-server';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';

// The worker role as real processes: `sync-server --role worker` runs the background jobs (the
// change dispatcher, offline notifications, change feeds, retention), `--role gateway` the
// sockets and REST. A worker killed with SIGKILL mid-notification loses nothing and notifies
// once; SIGTERM lets the notification in flight finish.

const jwtSecret = 'background-jobs-secret-0123456789';
const WAIT_MS = 20_000;

let database: TestDatabase;
let redisPrefix: string;
let receiver: WebhookReceiver;
const processes: ServerProcess[] = [];
const clients: TestClient[] = [];

beforeEach(async () => {
  const testEnv = inject('ccsTestEnv');
  database = await createTestDatabase(testEnv, { label: 'jobs', maxConnections: 2 });
  redisPrefix = await reserveRedisPrefix(testEnv.redisUrl, 'e2e-jobs');
  receiver = await WebhookReceiver.start();
});

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await Promise.all(processes.splice(0).map((process) => process.stop()));
  await receiver.close();
  await database.drop();
});

async function start(role: 'worker' | 'gateway'): Promise<ServerProcess> {
  const server = await startSyncServerProcess({
    databaseUrl: database.url,
    redisUrl: inject('ccsTestEnv').redisUrl,
    redisPrefix,
    role,
    jwtSecret,
    // A killed worker's job is retried a second after its last lock renewal.
    env: { CCS_JOB_LOCK_MS: '1000' },
  });
  processes.push(server);
  return server;
}

/** How this file waits for a condition (`expect.poll`). */
const POLL = { timeout: WAIT_MS, interval: 20 } as const;

async function appEndpoint(): Promise<WebhookEndpoint> {
  receiver.secret = randomBytes(16).toString('hex');
  return insertWebhookEndpoint(database.db, {
    userId: null,
    url: receiver.url,
    secret: receiver.secret,
  });
}

async function metrics(server: ServerProcess): Promise<string> {
  return (await fetch(`${server.url}/metrics`)).text();
}

async function delivered(
  endpoint: WebhookEndpoint,
  scenario: ConversationScenario,
  seq: number,
  recipientId: string,
): Promise<boolean> {
  const row = await findWebhookDelivery(database.db, {
    endpointId: endpoint.id,
    stream: scenario.stream,
    seq,
    recipientId,
  });
  return row?.status === 'delivered';
}

describe('sync-server --role worker', () => {
  it('loses no job to a SIGKILL mid-notification, and notifies exactly once', async () => {
    const scenario = await seedConversationScenario(database.db, {
      jwtSecret,
      devicesPerUser: [1, 1],
    });
    const [alice, bob] = scenario.users;
    const endpoint = await appEndpoint();
    const first = await start('worker');
    await waitForChangeDispatcher(database);
    // The first POST gets no answer: the worker dies waiting for it.
    let release: (status: number) => void = () => undefined;
    receiver.respond = () => new Promise<number>((resolve) => (release = resolve));

    const sent = await createMessage(database.db, alice!.devices[0]!, scenario.conversation.id, {
      body: 'ping',
    });
    await receiver.waitFor((r) => r.received.length === 1, WAIT_MS);
    await first.kill('SIGKILL');
    receiver.respond = () => 200;
    release(200);

    const second = await start('worker');
    await receiver.waitFor((r) => r.acknowledged.length === 1, WAIT_MS);
    await expect
      .poll(() => delivered(endpoint, scenario, sent.seq, bob!.user.id), {
        ...POLL,
        message: 'the delivery record',
      })
      .toBe(true);
    await expect
      .poll(
        async () =>
          (await metrics(second)).includes('ccs_jobs_completed_total{queue="ccs-webhooks"} 1'),
        { ...POLL, message: 'the job to complete' },
      )
      .toBe(true);
    const body = await metrics(second);
    expect(body).toContain('ccs_jobs{queue="ccs-webhooks",state="completed"} 1');
    expect(body).toContain('ccs_jobs{queue="ccs-webhooks",state="active"} 0');
    expect(body).toContain('ccs_jobs{queue="ccs-webhooks",state="waiting"} 0');
    expect(body).toContain('ccs_jobs{queue="ccs-webhooks",state="failed"} 0');
    // Two POSTs of the same notification (the first unanswered), one acknowledged.
    expect(receiver.received.map((request) => request.id)).toEqual([
      `${scenario.stream}/${sent.seq}/${bob!.user.id}`,
      `${scenario.stream}/${sent.seq}/${bob!.user.id}`,
    ]);
    expect(receiver.received.every((request) => request.signatureValid)).toBe(true);
    expect(receiver.acknowledged).toHaveLength(1);
  });

  it('on SIGTERM finishes the notification in flight, then exits 0; online devices are not notified', async () => {
    const scenario = await seedConversationScenario(database.db, {
      jwtSecret,
      devicesPerUser: [1, 1, 1],
    });
    const [alice, bob, carol] = scenario.users;
    const endpoint = await appEndpoint();
    const gateway = await start('gateway');
    const worker = await start('worker');
    await waitForChangeDispatcher(database);
    // Bob is online (subscribed through the gateway), Carol is not.
    const bobPhone = await TestClient.connect({ url: gateway.url, token: bob!.devices[0]!.token });
    clients.push(bobPhone);
    const ack = await bobPhone.emitWithAck('subscribe', { stream: scenario.stream });
    expect(ack.ok).toBe(true);
    let release: (status: number) => void = () => undefined;
    receiver.respond = () => new Promise<number>((resolve) => (release = resolve));

    const sent = await createMessage(database.db, alice!.devices[0]!, scenario.conversation.id);
    await receiver.waitFor((r) => r.received.length === 1, WAIT_MS);
    const exited = new Promise<number | null>((resolve) =>
      worker.child.once('exit', (code) => resolve(code)),
    );
    worker.child.kill('SIGTERM');
    await expect
      .poll(() => worker.output.some((line) => line.includes('shutting down')), {
        ...POLL,
        message: 'the worker to begin its shutdown',
      })
      .toBe(true);
    release(200);
    expect(await exited).toBe(0);

    expect(receiver.acknowledged.map((request) => request.notification.recipientId)).toEqual([
      carol!.user.id,
    ]);
    expect(await delivered(endpoint, scenario, sent.seq, carol!.user.id)).toBe(true);
    // The gateway runs no jobs.
    expect(await metrics(gateway)).not.toContain('ccs_jobs_completed_total');
    // Nothing was left to retry: a new worker finds the job completed and nothing waiting.
    const next = await start('worker');
    await expect
      .poll(
        async () =>
          (await metrics(next)).includes('ccs_jobs{queue="ccs-webhooks",state="completed"} 1'),
        { ...POLL, message: 'the job counts' },
      )
      .toBe(true);
    const body = await metrics(next);
    expect(body).toContain('ccs_jobs{queue="ccs-webhooks",state="active"} 0');
    expect(body).toContain('ccs_jobs{queue="ccs-webhooks",state="waiting"} 0');
    expect(receiver.received).toHaveLength(1);
  });
});
