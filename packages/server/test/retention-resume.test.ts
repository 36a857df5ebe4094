// Retention and resume (DESIGN.md guarantee 2): a device that comes back with `since` gets every
// change after it while those are still kept, and `resync_required` (never silence, never a
// partial replay) once retention removed one it needs.
import { readChanges, readStreamPosition } from '@ccs/db';
import { seedConversationScenario, type ConversationScenario } from '@ccs/fixtures';
import { applyRetention, startRetentionWorker } from '@ccs/jobs';
import type { ConversationSnapshot, MessageSendResult, StreamName } from '@ccs/protocol';
import { restCall, type TestClient } from '@ccs/test-clients';
import type { TestDatabase } from '@ccs/test-env/vitest';
import { describe, expect } from 'vitest';
import { TEST_SERVER_JWT_SECRET } from '@ccs/test-server';
import type { TestClients } from '@ccs/test-server/vitest';
import { test } from './server-fixtures.js';

const HOUR = 3_600_000;

/** Alice's laptop and Bob's phone, connected; Bob follows the conversation and has seen it all. */
async function devicesOf(scenario: ConversationScenario, clients: TestClients) {
  const [alice, bob] = scenario.users;
  const laptop = await clients.connect(alice!.devices[0]!.token, { name: 'alice-laptop' });
  const phone = await clients.connect(bob!.devices[0]!.token, { name: 'bob-phone' });
  expect(await phone.emitWithAck('subscribe', { stream: scenario.stream })).toMatchObject({
    ok: true,
  });
  const send = async (body: string): Promise<MessageSendResult> => {
    const ack = await laptop.emitWithAck('message:send', {
      conversationId: scenario.conversation.id,
      clientId: body,
      body,
    });
    if (!ack.ok) throw new Error(`send "${body}" refused: ${JSON.stringify(ack.error)}`);
    return ack;
  };
  return { phone, send };
}

/** Sends each body in turn; answers their seqs. */
async function sendAll(
  send: (body: string) => Promise<MessageSendResult>,
  bodies: readonly string[],
): Promise<number[]> {
  const seqs: number[] = [];
  for (const body of bodies) seqs.push((await send(body)).seq);
  return seqs;
}

/** Makes the stream's changes up to `seq` two hours old, as if written then. */
async function age(database: TestDatabase, stream: StreamName, seq: number): Promise<void> {
  await database.pool.query(
    `UPDATE change_log SET written_at = written_at - interval '2 hours'
     WHERE stream = $1 AND seq <= $2`,
    [stream, seq],
  );
}

/** Seqs of the changes of `stream` still in change_log. */
async function keptSeqs(database: TestDatabase, stream: StreamName): Promise<number[]> {
  return (await readChanges(database.db, stream, 0, 1000)).map((change) => change.seq);
}

/** Seqs `from..to`. */
function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, index) => from + index);
}

/** Seqs bob's phone received on `stream` since `from` (an index into its history of changes). */
function receivedSince(phone: TestClient, stream: string, from: number): number[] {
  return phone
    .changes(stream)
    .slice(from)
    .map(({ change }) => change.seq);
}

describe('retention and resume', () => {
  test('a device whose seq is still inside the window resumes with every change after it, once', async ({
    clients,
    database,
  }) => {
    const scenario = await seedConversationScenario(database.db, {
      jwtSecret: TEST_SERVER_JWT_SECRET,
    });
    const { stream } = scenario;
    const { phone, send } = await devicesOf(scenario, clients);
    const seen = await sendAll(send, ['before 1', 'before 2', 'before 3']);
    await phone.expectReceivedOnce(stream, seen);
    const k = phone.lastSeq(stream);
    expect(k).toBe(seen.at(-1));

    phone.disconnect();
    const missed = await sendAll(send, ['away 1', 'away 2', 'away 3', 'away 4']);
    expect(missed).toEqual(range(k + 1, k + 4));
    // A one-hour window, and the changes up to the phone's seq were written two hours ago: all
    // of them are trimmed, none it still needs (the edge: the first it needs is the oldest kept).
    await age(database, stream, k);
    expect(await applyRetention(database.db, { maxAgeMs: HOUR }, new Date())).toBe(k);
    expect(await readStreamPosition(database.db, stream)).toEqual({
      head: k + 4,
      trimmedTo: k,
    });
    expect(await keptSeqs(database, stream)).toEqual(missed);

    await phone.reconnect();
    const resumedFrom = phone.changes(stream).length;
    expect(await phone.emitWithAck('subscribe', { stream, since: k })).toEqual({
      ok: true,
      head: k + 4,
      receivedReportMs: expect.any(Number),
    });
    const live = (await send('back')).seq;
    expect(live).toBe(k + 5);
    // Over its whole history: each seq once, in order; no gap, no duplicate.
    await phone.expectReceivedOnce(stream, [...seen, ...missed, live]);
    expect(receivedSince(phone, stream, resumedFrom)).toEqual([...missed, live]);
    expect(phone.received('resync_required')).toEqual([]);
  });

  test('the retention worker trims past a device: its resume answers resync_required, and the snapshot has what it missed', async ({
    clients,
    database,
    redisNamespace,
    server,
    testEnv,
  }) => {
    const retention = startRetentionWorker({
      db: database.db,
      redisUrl: testEnv.redisUrl,
      prefix: redisNamespace.prefix,
      policy: { maxAgeMs: HOUR },
      everyMs: HOUR,
    });
    try {
      const scenario = await seedConversationScenario(database.db, {
        jwtSecret: TEST_SERVER_JWT_SECRET,
      });
      const { stream } = scenario;
      const { phone, send } = await devicesOf(scenario, clients);
      const seen = await sendAll(send, ['before 1', 'before 2']);
      await phone.expectReceivedOnce(stream, seen);
      const k = phone.lastSeq(stream);

      phone.disconnect();
      const missed = await sendAll(send, ['away 1', 'away 2', 'away 3', 'away 4']);
      const head = missed.at(-1)!;
      // The first two changes the phone missed are older than the window, the others are not.
      await age(database, stream, k + 2);
      await retention.runNow();
      expect(await readStreamPosition(database.db, stream)).toEqual({
        head,
        trimmedTo: k + 2,
      });
      expect(await keptSeqs(database, stream)).toEqual(range(k + 3, head));

      await phone.reconnect();
      const resumedFrom = phone.changes(stream).length;
      expect(await phone.emitWithAck('subscribe', { stream, since: k })).toMatchObject({
        ok: false,
        error: { code: 'conflict' },
      });
      const [resync] = await phone.waitFor('resync_required');
      expect(resync).toEqual({ stream, reason: 'since_before_retention', head });
      // Not a partial replay: the changes still kept were not sent either.
      expect(receivedSince(phone, stream, resumedFrom)).toEqual([]);

      // As a device does: refetch the stream, then resume from the snapshot's seq.
      const snapshot = await restCall(server.url, 'GET', `/v1/streams/${stream}/snapshot`, {
        token: scenario.users[1]!.devices[0]!.token,
      });
      expect(snapshot.status).toBe(200);
      const state = snapshot.body as ConversationSnapshot;
      expect(state.seq).toBe(head);
      expect(state.messages.map((message) => message.body)).toEqual([
        'before 1',
        'before 2',
        'away 1',
        'away 2',
        'away 3',
        'away 4',
      ]);
      expect(await phone.emitWithAck('subscribe', { stream, since: state.seq })).toEqual({
        ok: true,
        head,
        receivedReportMs: expect.any(Number),
      });
      const live = (await send('back')).seq;
      await phone.expectReceivedOnce(stream, [...seen, live]);
      expect(receivedSince(phone, stream, resumedFrom)).toEqual([live]);
    } finally {
      await retention.close();
    }
  });
});
