import { createMessage, seedConversationScenario } from '@ccs/fixtures';
import type { ChangeEvent, StreamName } from '@ccs/protocol';
import { test } from '@ccs/test-env/vitest';
import { describe, expect } from 'vitest';
import { ChangeRelay } from '../src/change-relay.js';
import { jwtSecret } from './gateway-harness.js';

describe('ChangeRelay', () => {
  test('keeps serving a stream when another subscriber is released twice around a refused resume', async ({
    database,
  }) => {
    const scenario = await seedConversationScenario(database.db, {
      jwtSecret,
      devicesPerUser: [1],
    });
    const device = scenario.users[0]!.devices[0]!;
    const broadcasts: ChangeEvent[] = [];
    const relay = new ChangeRelay({
      db: database.db,
      broadcast: (_stream, changes) => broadcasts.push(...changes),
      resync: () => undefined,
    });
    relay.start();
    try {
      const stream = scenario.stream as StreamName;
      const staying = relay.attach(
        stream,
        undefined,
        () => undefined,
        () => undefined,
      );
      expect(await staying.result).toMatchObject({ ok: true });
      const leaving = relay.attach(
        stream,
        1_000_000,
        () => undefined,
        () => undefined,
      );
      leaving.subscription.release(); // the socket went away mid-attach …
      expect(await leaving.result).toMatchObject({ ok: false, reason: 'since_ahead_of_head' });
      leaving.subscription.release(); // … and the refusal releases it again
      expect(relay.trackedStreams).toEqual([stream]);
      const { seq } = await createMessage(database.db, device, scenario.conversation.id);
      await expect.poll(() => broadcasts.map((change) => change.seq)).toContain(seq);
      staying.subscription.release();
      await expect.poll(() => relay.trackedStreams).toEqual([]);
    } finally {
      await relay.stop();
    }
  });

  test('settles a subscription released before its stream was read, and serves the next one', async ({
    database,
  }) => {
    const scenario = await seedConversationScenario(database.db, {
      jwtSecret,
      devicesPerUser: [1],
    });
    const relay = new ChangeRelay({
      db: database.db,
      broadcast: () => undefined,
      resync: () => undefined,
    });
    relay.start();
    try {
      const stream = scenario.stream as StreamName;
      const noop = (): void => undefined;
      const first = relay.attach(stream, undefined, noop, noop);
      first.subscription.release(); // gone before the relay read where the stream stands
      const second = relay.attach(stream, undefined, noop, noop);
      const [left, staying] = await Promise.all([first.result, second.result]);
      expect(left).toMatchObject({ ok: true });
      expect(staying).toEqual({ ok: true, head: left.head });
      expect(relay.trackedStreams).toEqual([stream]);
      second.subscription.release();
      expect(relay.trackedStreams).toEqual([]);
    } finally {
      await relay.stop();
    }
  });

  test('delivers a stream in seq order when a batch cut puts a later seq before an earlier one', async ({
    database,
  }) => {
    const scenario = await seedConversationScenario(database.db, {
      jwtSecret,
      devicesPerUser: [1],
    });
    const device = scenario.users[0]!.devices[0]!;
    const broadcasts: number[][] = [];
    const resyncs: number[] = [];
    // A batch of one cuts every read: the tail reads B's change (smaller xid) before A's.
    const relay = new ChangeRelay({
      db: database.db,
      batchSize: 1,
      broadcast: (_stream, changes) => broadcasts.push(changes.map((change) => change.seq)),
      resync: (_stream, _reason, head) => resyncs.push(head),
    });
    relay.start();
    const [a, b] = [await database.pool.connect(), await database.pool.connect()];
    try {
      const stream = scenario.stream as StreamName;
      const attached = relay.attach(
        stream,
        undefined,
        () => undefined,
        () => undefined,
      );
      const { head } = (await attached.result) as { head: number };
      const insert = `INSERT INTO messages (conversation_id, author_id, device_id, client_id, body)
                      VALUES ($1, $2, $3, $4, 'x')`;
      const values = (clientId: string) => [
        scenario.conversation.id,
        device.userId,
        device.id,
        clientId,
      ];
      await b.query('BEGIN');
      await b.query('SELECT pg_current_xact_id()'); // B takes its xid first …
      await a.query('BEGIN');
      await a.query(insert, values('a'));
      await a.query('COMMIT'); // … A commits seq head + 1 with a larger xid …
      await b.query(insert, values('b'));
      await b.query('COMMIT'); // … and B seq head + 2 with the smaller one.
      await expect.poll(() => broadcasts.flat()).toEqual([head + 1, head + 2]);
      expect(resyncs).toEqual([]);
      attached.subscription.release();
    } finally {
      a.release();
      b.release();
      await relay.stop();
    }
  });
});
