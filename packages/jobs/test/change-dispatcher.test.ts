import type { ChangeEvent } from '@ccs/protocol';
import { createMessage, seedConversationScenario } from '@ccs/fixtures';
import { test } from '@ccs/test-env/vitest';
import { describe, expect } from 'vitest';
import { ChangeDispatcher, type ChangeDispatcherOptions } from '../src/change-dispatcher.js';
import { POLL } from './job-harness.js';

const jwtSecret = 'jobs-test-secret-0123456789';

/** Each stream's seqs, in the order they were handed on. */
function seqsByStream(changes: readonly ChangeEvent[]): Map<string, number[]> {
  const streams = new Map<string, number[]>();
  for (const change of changes) {
    streams.set(change.stream, [...(streams.get(change.stream) ?? []), change.seq]);
  }
  return streams;
}

async function started(options: ChangeDispatcherOptions): Promise<ChangeDispatcher> {
  const dispatcher = new ChangeDispatcher({ idleMs: 10, retryMs: 50, ...options });
  dispatcher.start();
  await expect.poll(() => dispatcher.active, POLL).toBe(true);
  return dispatcher;
}

describe('ChangeDispatcher', () => {
  test('hands every change on once, in seq order per stream, and a restart goes on from where it stopped', async ({
    database,
  }) => {
    const [first, second] = await Promise.all([
      seedConversationScenario(database.db, { jwtSecret, devicesPerUser: [1, 1] }),
      seedConversationScenario(database.db, { jwtSecret, devicesPerUser: [1, 1] }),
    ]);
    const write = (count: number) =>
      Promise.all(
        Array.from({ length: count }, (_, i) => {
          const scenario = i % 2 === 0 ? first : second;
          return createMessage(
            database.db,
            scenario.users[i % 4 < 2 ? 0 : 1]!.devices[0]!,
            scenario.conversation.id,
          );
        }),
      );
    const before: ChangeEvent[] = [];
    // Small batches: reads are cut, often between a stream's seqs taken out of xid order.
    const dispatcher = await started({
      db: database.db,
      name: 'test',
      batchSize: 3,
      sinks: [async (changes) => void before.push(...changes)],
    });
    const sent = await write(40);
    await expect.poll(() => before.length === 40, POLL).toBe(true);
    await dispatcher.close();
    expect(dispatcher.active).toBe(false);

    for (const [stream, seqs] of seqsByStream(before)) {
      const expected = sent.filter((message) => message.stream === stream).map((m) => m.seq);
      expect(seqs).toEqual(expected.sort((a, b) => a - b));
    }

    // Written while no dispatcher runs: the next one starts from the saved position.
    const whileDown = await write(10);
    const after: ChangeEvent[] = [];
    const restarted = await started({
      db: database.db,
      name: 'test',
      sinks: [async (changes) => void after.push(...changes)],
    });
    try {
      await expect.poll(() => after.length === 10, POLL).toBe(true);
      expect(after.map((change) => `${change.stream}/${change.seq}`).sort()).toEqual(
        whileDown.map((message) => `${message.stream}/${message.seq}`).sort(),
      );
    } finally {
      await restarted.close();
    }
  });

  test('a read whose sink failed is handed on again, whole', async ({ database }) => {
    const scenario = await seedConversationScenario(database.db, {
      jwtSecret,
      devicesPerUser: [1],
    });
    const calls: ChangeEvent[][] = [];
    const dispatcher = await started({
      db: database.db,
      name: 'test',
      sinks: [
        async (changes) => {
          calls.push([...changes]);
          if (calls.length === 1) throw new Error('the queue is down');
        },
      ],
    });
    try {
      const sent = await createMessage(
        database.db,
        scenario.users[0]!.devices[0]!,
        scenario.conversation.id,
      );
      await expect.poll(() => calls.length === 2, POLL).toBe(true);
      expect(calls[1]).toEqual(calls[0]);
      expect(calls[0]!.map((change) => change.seq)).toEqual([sent.seq]);
    } finally {
      await dispatcher.close();
    }
  });

  test('one dispatcher of a name reads at a time; a standby takes over when it stops', async ({
    database,
  }) => {
    const scenario = await seedConversationScenario(database.db, {
      jwtSecret,
      devicesPerUser: [1],
    });
    const seen = { a: [] as ChangeEvent[], b: [] as ChangeEvent[] };
    const a = await started({
      db: database.db,
      name: 'test',
      sinks: [async (changes) => void seen.a.push(...changes)],
    });
    const b = new ChangeDispatcher({
      db: database.db,
      name: 'test',
      retryMs: 50,
      idleMs: 10,
      sinks: [async (changes) => void seen.b.push(...changes)],
    });
    b.start();
    try {
      const device = scenario.users[0]!.devices[0]!;
      await createMessage(database.db, device, scenario.conversation.id);
      await expect.poll(() => seen.a.length === 1, POLL).toBe(true);
      expect(b.active).toBe(false);
      await a.close();
      await expect.poll(() => b.active, POLL).toBe(true);
      const later = await createMessage(database.db, device, scenario.conversation.id);
      await expect.poll(() => seen.b.length === 1, POLL).toBe(true);
      expect(seen.b[0]!.seq).toBe(later.seq);
      expect(seen.a).toHaveLength(1);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  test('takes its lock again after the lock connection is terminated, and reads on', async ({
    database,
  }) => {
    const scenario = await seedConversationScenario(database.db, {
      jwtSecret,
      devicesPerUser: [1],
    });
    const seen: ChangeEvent[] = [];
    const dispatcher = await started({
      db: database.db,
      name: 'test',
      sinks: [async (changes) => void seen.push(...changes)],
    });
    try {
      const { rows } = await database.pool.query<{ n: number }>(
        `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_locks
         WHERE locktype = 'advisory' AND granted
           AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
      );
      expect(rows[0]!.n).toBe(1);
      await expect.poll(() => dispatcher.active, POLL).toBe(false);
      await expect.poll(() => dispatcher.active, POLL).toBe(true);
      const sent = await createMessage(
        database.db,
        scenario.users[0]!.devices[0]!,
        scenario.conversation.id,
      );
      await expect.poll(() => seen.map((change) => change.seq), POLL).toContain(sent.seq);
    } finally {
      await dispatcher.close();
    }
  });
});
