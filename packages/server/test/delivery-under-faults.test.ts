import { createMessage, seedConversationScenario } from '@ccs/fixtures';
import { isChangeOf } from '@ccs/protocol';
import { TestClient } from '@ccs/test-clients';
import { Redis } from 'ioredis';
import { describe, expect } from 'vitest';
import type { TestDatabase } from '@ccs/test-env/vitest';
import type { SyncServer } from '../src/sync-server.js';
import { TEST_SERVER_JWT_SECRET as jwtSecret } from '@ccs/test-server';
import { test } from './server-fixtures.js';

/** Writes `count` messages one after another, `pauseMs` apart; resolves with their seqs. */
async function writeSteadily(
  write: (i: number) => Promise<number>,
  count: number,
  pauseMs: number,
): Promise<number[]> {
  const seqs: number[] = [];
  for (let i = 0; i < count; i++) {
    seqs.push(await write(i));
    await new Promise((resolve) => setTimeout(resolve, pauseMs));
  }
  return seqs;
}

function receivedSeqs(client: TestClient): number[] {
  return client
    .received('change')
    .map(([change]) => change)
    .filter((change) => isChangeOf(change, 'message'))
    .map((change) => change.seq);
}

describe('delivery across nodes', () => {
  test('a device on node A receives what was written through node B, once', async ({
    startServer,
    database,
  }) => {
    const [nodeA, nodeB] = [await startServer(), await startServer()];
    const scenario = await seedConversationScenario(database.db, {
      jwtSecret,
      devicesPerUser: [1, 1],
    });
    const [alice, bob] = scenario.users.map(({ devices }) => devices[0]!);
    const onA = await TestClient.connect({ url: nodeA.url, token: bob!.token });
    const onB = await TestClient.connect({ url: nodeB.url, token: alice!.token });
    try {
      await onA.emitWithAck('subscribe', { stream: scenario.stream });
      const acks = [];
      for (let i = 0; i < 20; i++) {
        acks.push(
          await onB.emitWithAck('message:send', {
            conversationId: scenario.conversation.id,
            clientId: `b-${i}`,
            body: `through B ${i}`,
          }),
        );
      }
      const seqs = acks.map((ack) => (ack.ok ? ack.seq : -1));
      await onA.waitForCount('change', 20);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(receivedSeqs(onA)).toEqual(seqs);
    } finally {
      onA.close();
      onB.close();
    }
  });
});

/**
 * Starts a server, has Bob's device follow a conversation while Alice's device writes `count`
 * messages steadily, injects `fault` once delivery is under way, then checks that Bob received
 * every message once, in order. Returns the server for checks after the fault.
 */
async function deliverThrough(
  ctx: { startServer: () => Promise<SyncServer>; database: TestDatabase },
  count: number,
  fault: () => Promise<void>,
): Promise<SyncServer> {
  const server = await ctx.startServer();
  const { db } = ctx.database;
  const scenario = await seedConversationScenario(db, { jwtSecret, devicesPerUser: [1, 1] });
  const [alice, bob] = scenario.users.map(({ devices }) => devices[0]!);
  const client = await TestClient.connect({ url: server.url, token: bob!.token });
  let writing: Promise<number[]> = Promise.resolve([]);
  try {
    await client.emitWithAck('subscribe', { stream: scenario.stream });
    const write = async (i: number) =>
      (await createMessage(db, alice!, scenario.conversation.id, { body: `m${i}` })).seq;
    writing = writeSteadily(write, count, 10);
    await client.waitForCount('change', 5);
    await fault();
    const written = await writing;
    await client.waitForCount('change', written.length, { timeout: 10_000 });
    expect(receivedSeqs(client)).toEqual(written);
    return server;
  } finally {
    // A failed assertion must not leave the writer running against a dropped database.
    await writing.catch(() => undefined);
    client.close();
  }
}

describe('delivery under faults', () => {
  test('resumes by itself after every PostgreSQL backend of the server is terminated', async ({
    startServer,
    database,
  }) => {
    await deliverThrough({ startServer, database }, 40, async () => {
      // Every pooled connection of the server, the relay's tail reads among them.
      const { rows } = await database.pool.query<{ ended: boolean }>(
        `SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity
         WHERE datname = current_database() AND application_name = 'ccs-sync-server'`,
      );
      expect(rows.length).toBeGreaterThan(0);
    });
  });

  test('keeps delivering, and becomes ready again, after its Redis connections are dropped', async ({
    startServer,
    database,
    testEnv,
    redisNamespace,
  }) => {
    const admin = new Redis(testEnv.redisUrl);
    try {
      const server = await deliverThrough({ startServer, database }, 30, async () => {
        // Only this test's connections: they are named after its prefix.
        const clients = (await admin.client('LIST')) as string;
        const ours = clients
          .split('\n')
          .filter((line) => line.includes(` name=${redisNamespace.prefix}:`))
          .map((line) => /(?:^| )id=(\d+)/.exec(line)?.[1])
          .filter((id): id is string => id !== undefined);
        expect(ours.length).toBeGreaterThanOrEqual(3);
        for (const id of ours) await admin.client('KILL', 'ID', id);
      });
      await expect
        .poll(async () => (await fetch(`${server.url}/readyz`)).status, { timeout: 10_000 })
        .toBe(200);
    } finally {
      admin.disconnect();
    }
  });
});
