import { randomUUID } from 'node:crypto';
import { findWebhookDelivery, insertWebhookEndpoint } from '@ccs/db';
import { createMessage, seedConversationScenario } from '@ccs/fixtures';
import { presenceEntry } from '@ccs/realtime';
import { test as base, type TestDatabase } from '@ccs/test-env/vitest';
import { describe, expect } from 'vitest';
import { listFailedJobs } from '../src/failed-jobs.js';
import { webhookJobId, type WebhookJobData } from '../src/offline-notifications.js';
import { WebhookReceiver } from '../src/testing.js';
import type { JobWorkersOptions } from '../src/job-workers.js';
import { appEndpoint, POLL, startTestJobs, type TestJobs } from './job-harness.js';

const jwtSecret = 'jobs-test-secret-0123456789';

/** A conversation whose members have one device each. */
const seed = (database: TestDatabase, members: number) =>
  seedConversationScenario(database.db, { jwtSecret, devicesPerUser: Array(members).fill(1) });

const test = base
  // eslint-disable-next-line no-empty-pattern -- vitest reads a fixture's dependencies from this pattern
  .extend('receiver', async ({}, { onCleanup }) => {
    const receiver = await WebhookReceiver.start();
    onCleanup(() => receiver.close());
    return receiver;
  })
  .extend('startJobs', async ({ database, testEnv, redisNamespace }, { onCleanup }) => {
    const started: TestJobs[] = [];
    onCleanup(async () => {
      for (const harness of started) await harness.close();
    });
    return async (options: Partial<JobWorkersOptions> = {}): Promise<TestJobs> => {
      const harness = await startTestJobs({ database, testEnv, redisNamespace }, options);
      started.push(harness);
      return harness;
    };
  });

describe('offline notifications', () => {
  test('notify each member with no device online, once, signed; not the author, not the online', async ({
    database,
    startJobs,
    receiver,
  }) => {
    const scenario = await seed(database, 3);
    const [author, offline, online] = scenario.users.map((member) => member.devices[0]!);
    const harness = await startJobs();
    await appEndpoint({ database }, receiver);
    await harness.presence.renew(scenario.stream, [
      presenceEntry({ userId: online!.userId, deviceId: online!.id }, 'node-1', Date.now()),
    ]);
    const sent = await createMessage(database.db, author!, scenario.conversation.id, {
      body: 'are you there?',
    });

    const [queue] = harness.jobs.queues;
    await expect.poll(async () => (await queue!.getCompletedCount()) === 1, POLL).toBe(true);
    expect(await queue!.getJobCountByTypes('waiting', 'delayed', 'active', 'failed')).toBe(0);
    expect(receiver.acknowledged).toHaveLength(1);
    const [notification] = receiver.acknowledged;
    expect(notification!.signatureValid).toBe(true);
    expect(notification!.id).toBe(`${scenario.stream}/${sent.seq}/${offline!.userId}`);
    expect(notification!.notification).toMatchObject({
      id: notification!.id,
      type: 'change.offline',
      recipientId: offline!.userId,
      change: { stream: scenario.stream, seq: sent.seq, kind: 'message.created' },
    });
    expect(notification!.notification.change.data.body).toBe('are you there?');
  });

  test("a user's own endpoint gets that user's notifications only", async ({
    database,
    startJobs,
    receiver,
  }) => {
    const scenario = await seed(database, 3);
    const [author, withoutEndpoint, withEndpoint] = scenario.users;
    const harness = await startJobs();
    receiver.secret = 'whsec-carol-0123456789';
    await insertWebhookEndpoint(database.db, {
      userId: withEndpoint!.user.id,
      url: receiver.url,
      secret: receiver.secret,
    });
    await createMessage(database.db, author!.devices[0]!, scenario.conversation.id);
    const [queue] = harness.jobs.queues;
    await expect.poll(async () => (await queue!.getCompletedCount()) === 1, POLL).toBe(true);
    expect(await queue!.getJobCountByTypes('waiting', 'delayed', 'active', 'failed')).toBe(0);
    expect(receiver.acknowledged.map((r) => r.notification.recipientId)).toEqual([
      withEndpoint!.user.id,
    ]);
    expect(receiver.acknowledged[0]!.signatureValid).toBe(true);
    expect(withoutEndpoint).toBeDefined();
  });

  test('retries follow the exponential backoff with jitter, then notify once', async ({
    database,
    startJobs,
    receiver,
  }) => {
    const scenario = await seed(database, 2);
    const backoffMs = 200;
    await startJobs({ webhooks: { attempts: 5, backoffMs, jitter: 0.5 } });
    const endpoint = await appEndpoint({ database }, receiver);
    receiver.respond = () => (receiver.received.length <= 3 ? 503 : 200);
    const sent = await createMessage(
      database.db,
      scenario.users[0]!.devices[0]!,
      scenario.conversation.id,
    );
    await receiver.waitFor((r) => r.acknowledged.length === 1);

    const times = receiver.received.map((request) => request.receivedAt);
    expect(times).toHaveLength(4);
    for (let retry = 1; retry <= 3; retry++) {
      const gap = times[retry]! - times[retry - 1]!;
      const longest = backoffMs * 2 ** (retry - 1);
      // jitter 0.5: each wait is between half and all of its exponential step (plus the
      // time BullMQ takes to promote a delayed job).
      expect(gap).toBeGreaterThanOrEqual(longest * 0.5 - 5);
      expect(gap).toBeLessThan(longest + 400);
    }
    expect(new Set(receiver.received.map((request) => request.id)).size).toBe(1);
    expect(receiver.received.every((request) => request.signatureValid)).toBe(true);
    const recipientId = scenario.users[1]!.user.id;
    await expect
      .poll(
        async () =>
          Boolean(
            await findWebhookDelivery(database.db, {
              endpointId: endpoint.id,
              stream: scenario.stream,
              seq: sent.seq,
              recipientId,
            }),
          ),
        POLL,
      )
      .toBe(true);
    expect(
      await findWebhookDelivery(database.db, {
        endpointId: endpoint.id,
        stream: scenario.stream,
        seq: sent.seq,
        recipientId,
      }),
    ).toMatchObject({ status: 'delivered', attempts: 4, responseStatus: 200, lastError: null });
  });

  test('a notification that keeps failing ends failed: recorded, listed, counted', async ({
    database,
    startJobs,
    receiver,
  }) => {
    const scenario = await seed(database, 2);
    const harness = await startJobs({ webhooks: { attempts: 3, backoffMs: 20 } });
    const endpoint = await appEndpoint({ database }, receiver);
    receiver.respond = () => 500;
    const sent = await createMessage(
      database.db,
      scenario.users[0]!.devices[0]!,
      scenario.conversation.id,
    );
    await expect
      .poll(async () => (await listFailedJobs(harness.jobs.queues)).length === 1, POLL)
      .toBe(true);

    const [failed] = await listFailedJobs(harness.jobs.queues);
    expect(failed).toMatchObject({
      queue: 'ccs-webhooks',
      attemptsMade: 3,
      failedReason: expect.stringContaining('answered 500'),
    });
    expect(receiver.received).toHaveLength(3);
    expect(
      await findWebhookDelivery(database.db, {
        endpointId: endpoint.id,
        stream: scenario.stream,
        seq: sent.seq,
        recipientId: scenario.users[1]!.user.id,
      }),
    ).toMatchObject({ status: 'failed', attempts: 3, responseStatus: 500 });
    const metrics = await harness.registry.metrics();
    expect(metrics).toContain('ccs_jobs_failed_total{queue="ccs-webhooks",final="false"} 2');
    expect(metrics).toContain('ccs_jobs_failed_total{queue="ccs-webhooks",final="true"} 1');
    expect(metrics).toContain('ccs_jobs{queue="ccs-webhooks",state="failed"} 1');
  });

  test('a notification added again after it was delivered never notifies twice', async ({
    database,
    startJobs,
    receiver,
  }) => {
    const scenario = await seed(database, 2);
    const harness = await startJobs();
    const endpoint = await appEndpoint({ database }, receiver);
    await createMessage(database.db, scenario.users[0]!.devices[0]!, scenario.conversation.id);
    await receiver.waitFor((r) => r.acknowledged.length === 1);
    const [queue] = harness.jobs.queues;
    await expect.poll(async () => (await queue!.getCompletedCount()) === 1, POLL).toBe(true);
    const [completed] = await queue!.getCompleted();
    const data = completed!.data as WebhookJobData;
    expect(completed!.id).toBe(webhookJobId(data));
    expect(data.endpointId).toBe(endpoint.id);

    // Added again under its own id (a change handed on twice after a crash): BullMQ keeps one.
    await queue!.add('message.created', data, { jobId: webhookJobId(data) });
    // Added under another id (as a job retried by hand would run): the record stops the POST.
    const again = await queue!.add('message.created', data, { jobId: randomUUID() });
    await expect.poll(async () => (await again.getState()) === 'completed', POLL).toBe(true);
    expect((await queue!.getJob(again.id!))?.returnvalue).toBe('already_delivered');
    expect(await queue!.getCompletedCount()).toBe(2);
    expect(receiver.received).toHaveLength(1);
  });
});
