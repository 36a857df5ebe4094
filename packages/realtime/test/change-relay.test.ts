import { createMessage, seedConversationScenario } from '@ccs/fixtures';
import type { StreamName } from '@ccs/protocol';
import type { TestDatabase } from '@ccs/test-env/vitest';
import { test } from '@ccs/test-env/vitest';
import { describe, expect } from 'vitest';
import { ChangeRelay, type ChangeRelayOptions } from '../src/change-relay.js';
import { jwtSecret } from './gateway-harness.js';

const noop = (): void => undefined;

/** A conversation of one member and a started relay that records what it broadcasts. */
async function startRelay(
  database: TestDatabase,
  options: Pick<ChangeRelayOptions, 'batchSize'> = {},
) {
  const scenario = await seedConversationScenario(database.db, {
    jwtSecret,
    devicesPerUser: [1],
  });
  const broadcasts: number[][] = [];
  const resyncs: number[] = [];
  const relay = new ChangeRelay({
    db: database.db,
    ...options,
    broadcast: (_stream, changes) => broadcasts.push(changes.map((change) => change.seq)),
    resync: (_stream, _reason, head) => resyncs.push(head),
  });
  relay.start();
  return {
    relay,
    scenario,
    stream: scenario.stream as StreamName,
    device: scenario.users[0]!.devices[0]!,
    broadcasts,
    resyncs,
  };
}

describe('ChangeRelay', () => {
  test('keeps serving a stream when another subscriber is released twice around a refused resume', async ({
    database,
  }) => {
    const { relay, scenario, stream, device, broadcasts } = await startRelay(database);
    try {
      const staying = relay.attach(stream, undefined, noop, noop);
      expect(await staying.result).toMatchObject({ ok: true });
      const leaving = relay.attach(stream, 1_000_000, noop, noop);
      leaving.subscription.release(); // the socket went away mid-attach …
      expect(await leaving.result).toMatchObject({ ok: false, reason: 'since_ahead_of_head' });
      leaving.subscription.release(); // … and the refusal releases it again
      expect(relay.trackedStreams).toEqual([stream]);
      const { seq } = await createMessage(database.db, device, scenario.conversation.id);
      await expect.poll(() => broadcasts.flat()).toContain(seq);
      staying.subscription.release();
      await expect.poll(() => relay.trackedStreams).toEqual([]);
    } finally {
      await relay.stop();
    }
  });

  test('settles a subscription released before its stream was read, and serves the next one', async ({
    database,
  }) => {
    const { relay, stream } = await startRelay(database);
    try {
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
    // A batch of one cuts every read: the tail reads B's change (smaller xid) before A's.
    const { relay, scenario, stream, device, broadcasts, resyncs } = await startRelay(database, {
      batchSize: 1,
    });
    const [a, b] = [await database.pool.connect(), await database.pool.connect()];
    try {
      const attached = relay.attach(stream, undefined, noop, noop);
      const { head } = await attached.result;
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
