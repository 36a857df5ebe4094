import { readChanges } from '@ccs/db';
import { createConversation, createDevice, createUser } from '@ccs/fixtures';
import {
  isChangeOf,
  signDeviceToken,
  streamName,
  type ChangeEvent,
  type StreamName,
} from '@ccs/protocol';
import { TestClient } from '@ccs/test-clients';
import type { TestDatabase } from '@ccs/test-env/vitest';
import { test } from '@ccs/test-env/vitest';
import fc from 'fast-check';
import { describe, expect } from 'vitest';
import type { GatewayOptions } from '../src/gateway.js';
import { jwtSecret, startGatewayHarness } from './gateway-harness.js';
import { NAIVE_RELAY_SETUP_SQL, NaiveGlobalCursorRelay } from './naive-global-cursor-relay.js';
import { ResumingSubscriber } from './resuming-subscriber.js';

/** One writer transaction: rows into one of two conversations, held open, then commit or not. */
interface TransactionPlan {
  readonly conversation: 0 | 1;
  readonly rows: number;
  readonly holdMs: number;
  readonly rollback: boolean;
}

interface DeliveryPlan {
  /** Concurrent writers, each running its transactions one after another. */
  readonly writers: readonly (readonly TransactionPlan[])[];
  /** For each of three subscribers, the times (ms from start) at which it drops and resumes. */
  readonly reconnectsAtMs: readonly (readonly number[])[];
}

const transactionArb: fc.Arbitrary<TransactionPlan> = fc.record({
  conversation: fc.constantFrom<0 | 1>(0, 1),
  rows: fc.integer({ min: 1, max: 2 }),
  holdMs: fc.integer({ min: 0, max: 25 }),
  rollback: fc.integer({ min: 0, max: 4 }).map((n) => n === 0),
});

const planArb: fc.Arbitrary<DeliveryPlan> = fc.record({
  writers: fc.array(fc.array(transactionArb, { minLength: 2, maxLength: 6 }), {
    minLength: 2,
    maxLength: 4,
  }),
  reconnectsAtMs: fc.array(fc.array(fc.integer({ min: 0, max: 150 }), { maxLength: 2 }), {
    minLength: 3,
    maxLength: 3,
  }),
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function runWriter(
  database: TestDatabase,
  writer: number,
  plan: readonly TransactionPlan[],
  conversations: readonly string[],
  author: { id: string; userId: string },
): Promise<void> {
  for (const [t, tx] of plan.entries()) {
    const client = await database.pool.connect();
    try {
      await client.query('BEGIN');
      for (let r = 0; r < tx.rows; r++) {
        const marker = tx.rollback ? 'rolled-back' : 'committed';
        await client.query(
          `INSERT INTO messages (conversation_id, author_id, device_id, client_id, body)
           VALUES ($1, $2, $3, $4, $5)`,
          [
            conversations[tx.conversation],
            author.userId,
            author.id,
            `w${writer}-t${t}-r${r}-${Math.random().toString(36).slice(2)}`,
            `${marker} w${writer} t${t} r${r}`,
          ],
        );
      }
      if (tx.holdMs > 0) await client.query('SELECT pg_sleep($1)', [tx.holdMs / 1000]);
      await client.query(tx.rollback ? 'ROLLBACK' : 'COMMIT');
    } finally {
      client.release();
    }
  }
}

/**
 * The property of guarantees 1 and 2: with concurrent writers of random duration (some rolled
 * back) and subscribers that drop and resume at random, every subscriber ends up with every
 * committed change of its streams exactly once, in seq order, and nothing rolled back.
 */
function deliveryProperty(database: TestDatabase, url: () => string) {
  return fc.asyncProperty(planArb, async (plan) => {
    const user = await createUser(database.db);
    const author = await createDevice(database.db, user);
    const conversations = await Promise.all([
      createConversation(database.db, [user]),
      createConversation(database.db, [user]),
    ]);
    const streams: StreamName[] = conversations.map((c) => streamName('conversation', c.id));
    const subscribers = await Promise.all(
      plan.reconnectsAtMs.map(async () => {
        const device = await createDevice(database.db, user);
        const token = await signDeviceToken(
          { userId: user.id, deviceId: device.id },
          { secret: jwtSecret },
        );
        const subscriber = new ResumingSubscriber(url, token, streams);
        await subscriber.connect();
        return subscriber;
      }),
    );
    try {
      const ids = conversations.map((c) => c.id);
      await Promise.all([
        ...plan.writers.map((writer, w) =>
          runWriter(database, w, writer, ids, { id: author.id, userId: user.id }),
        ),
        ...plan.reconnectsAtMs.map(async (times, s) => {
          let elapsed = 0;
          for (const at of [...times].sort((a, b) => a - b)) {
            await sleep(at - elapsed);
            elapsed = at;
            await subscribers[s]!.reconnect();
          }
        }),
      ]);
      const committed = new Map<StreamName, ChangeEvent[]>();
      for (const stream of streams)
        committed.set(stream, await readChanges(database.db, stream, 0, 10_000));
      const head = (stream: StreamName) => committed.get(stream)!.at(-1)!.seq;
      // Wait for delivery to catch up, then a little longer so a late duplicate would show.
      const deadline = Date.now() + 15_000;
      while (
        Date.now() < deadline &&
        !subscribers.every((s) => streams.every((stream) => s.lastSeq(stream) >= head(stream)))
      ) {
        await sleep(20);
      }
      await sleep(100);
      for (const subscriber of subscribers) {
        for (const stream of streams) {
          const expected = committed
            .get(stream)!
            .filter((row) => row.seq >= subscriber.firstExpected(stream))
            .map((row) => `${row.seq} ${(row.data as { body: string }).body}`);
          const got = subscriber.received
            .get(stream)!
            .map((change) => `${change.seq} ${(change.data as { body: string }).body}`);
          expect(got).toEqual(expected);
          expect(got.some((line) => line.includes('rolled-back'))).toBe(false);
        }
      }
    } finally {
      for (const subscriber of subscribers) subscriber.close();
    }
  });
}

async function withGateway(
  database: TestDatabase,
  createRelay: GatewayOptions['createRelay'],
  run: (url: () => string) => Promise<void>,
): Promise<void> {
  // A batch of 3 makes the tail cut transactions across reads, so that path is exercised too.
  const harness = await startGatewayHarness(database, { relay: { batchSize: 3 }, createRelay });
  try {
    await run(() => harness.url);
  } finally {
    await harness.close();
  }
}

/**
 * The case that breaks a naive global-id tail: a transaction takes its id early, holds, and
 * commits after a later one was delivered. Resolves with whether the subscriber got the early
 * transaction's change after it committed.
 */
async function earlyIdLateCommit(database: TestDatabase, url: string): Promise<boolean> {
  const user = await createUser(database.db);
  const author = await createDevice(database.db, user);
  const reader = await createDevice(database.db, user);
  const [early, late] = await Promise.all([
    createConversation(database.db, [user]),
    createConversation(database.db, [user]),
  ]);
  const token = await signDeviceToken(
    { userId: user.id, deviceId: reader.id },
    { secret: jwtSecret },
  );
  const client = await TestClient.connect({ url, token });
  const insert = `INSERT INTO messages (conversation_id, author_id, device_id, client_id, body)
                  VALUES ($1, $2, $3, $4, $4)`;
  const slow = await database.pool.connect();
  try {
    for (const conversation of [early, late]) {
      await client.emitWithAck('subscribe', {
        stream: streamName('conversation', conversation.id),
      });
    }
    await slow.query('BEGIN');
    await slow.query(insert, [early.id, user.id, author.id, 'early']);
    await database.pool.query(insert, [late.id, user.id, author.id, 'late']);
    await client.waitFor('change', { predicate: (change) => isBody(change, 'late') });
    await slow.query('COMMIT');
    return await client
      .waitFor('change', { predicate: (change) => isBody(change, 'early'), timeout: 2000 })
      .then(
        () => true,
        () => false,
      );
  } finally {
    slow.release();
    client.close();
  }
}

const isBody = (change: ChangeEvent, body: string): boolean =>
  isChangeOf(change, 'message') && change.data.body === body;

describe('a transaction that takes its position early and commits late', () => {
  test('is delivered when it commits', async ({ database }) => {
    await withGateway(database, undefined, async (url) => {
      expect(await earlyIdLateCommit(database, url())).toBe(true);
    });
  });

  test('is lost by a naive relay tailing a global bigserial (the pitfall)', async ({
    database,
  }) => {
    await database.pool.query(NAIVE_RELAY_SETUP_SQL);
    await withGateway(
      database,
      (deps) => new NaiveGlobalCursorRelay(deps),
      async (url) => {
        expect(await earlyIdLateCommit(database, url())).toBe(false);
      },
    );
  });
});

describe('delivery property (guarantees 1 and 2)', () => {
  test(
    'every subscriber gets every committed change exactly once, in order, across resumes',
    { timeout: 120_000 },
    async ({ database }) => {
      await withGateway(database, undefined, async (url) => {
        await fc.assert(deliveryProperty(database, url), { numRuns: 12 });
      });
    },
  );

  test(
    'the same property fails for a naive relay tailing a global bigserial (the pitfall)',
    { timeout: 120_000 },
    async ({ database }) => {
      await database.pool.query(NAIVE_RELAY_SETUP_SQL);
      await withGateway(
        database,
        (deps) => new NaiveGlobalCursorRelay(deps),
        async (url) => {
          const result = await fc.check(deliveryProperty(database, url), {
            numRuns: 30,
            endOnFailure: true,
          });
          expect(result.failed).toBe(true);
          // It fails because changes went missing, not because something crashed.
          expect(result.errorInstance).toMatchObject({ name: 'AssertionError' });
        },
      );
    },
  );
});
