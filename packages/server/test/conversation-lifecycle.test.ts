import { randomUUID } from 'node:crypto';
import {
  isChangeOf,
  type ChangeEvent,
  type ConversationSnapshot,
  type CreateResult,
  type HistoryPage,
  type MessageData,
  type MessageSendResult,
  type ReceiptReadResult,
  type StreamName,
  type UserSnapshot,
  type WriteResult,
} from '@ccs/protocol';
import { restCall, type RestAnswer, TestClient } from '@ccs/test-clients';
import type { TestDatabase } from '@ccs/test-env/vitest';
import { describe, expect } from 'vitest';
import { test } from './server-fixtures.js';
import { asAck, okOf, restWrite, signedUsers, socketWrite, UNLIMITED } from './rest-client.js';

/** The JSON body of a 200 answer; throws with the status and body otherwise. */
function bodyOf<T>(answer: RestAnswer, what: string): T {
  if (answer.status !== 200) {
    throw new Error(`${what} answered ${answer.status}: ${JSON.stringify(answer.body)}`);
  }
  return answer.body as T;
}

/** Waits for the change of `stream` that `predicate` picks. */
async function changeOn(
  client: TestClient,
  stream: StreamName,
  predicate: (change: ChangeEvent) => boolean,
): Promise<ChangeEvent> {
  const [change] = await client.waitFor('change', {
    predicate: (candidate) => candidate.stream === stream && predicate(candidate),
  });
  return change;
}

/** The change of a message (created or updated) carrying `check`'s state. */
const messageChange =
  (
    kind: 'message.created' | 'message.updated',
    id: string,
    check: (data: MessageData) => boolean,
  ) =>
  (change: ChangeEvent): boolean =>
    change.kind === kind &&
    isChangeOf(change, 'message') &&
    change.data.id === id &&
    check(change.data);

/** Rows of `query`'s single `count(*)`. */
async function count(database: TestDatabase, query: string, values: unknown[]): Promise<number> {
  const { rows } = await database.pool.query<{ count: string }>(query, values);
  return Number(rows[0]!.count);
}

describe('conversation lifecycle', () => {
  test('created on one device, learned live by the other user, messages sent, edited, deleted and read per device, then access taken away', async ({
    server,
    clients,
    database,
  }) => {
    const [alice, bob] = await signedUsers(database.db, [2, 2]);
    const laptop = alice!.devices[0]!;
    const phone = alice!.devices[1]!;
    const bobDevice = bob!.devices[0]!;
    const aliceStream: StreamName = `user:${alice!.user.id}`;
    const bobStream: StreamName = `user:${bob!.user.id}`;

    // Bob's phone follows his own stream from a snapshot of it: no conversation yet.
    const bobPhone = await clients.connect(bobDevice.token, { name: 'bob-phone' });
    const bobSnapshot = bodyOf<UserSnapshot>(
      await restCall(server.url, 'GET', `/v1/streams/${bobStream}/snapshot`, {
        token: bobDevice.token,
      }),
      'bob snapshot',
    );
    expect(bobSnapshot).toMatchObject({ stream: bobStream, conversations: [] });
    expect(
      await bobPhone.emitWithAck('subscribe', { stream: bobStream, since: bobSnapshot.seq }),
    ).toMatchObject({ ok: true });
    const aliceLaptop = await clients.connect(laptop.token, { name: 'alice-laptop' });
    const alicePhone = await clients.connect(phone.token, { name: 'alice-phone' });
    expect(
      await alicePhone.emitWithAck('subscribe', { stream: aliceStream, since: 0 }),
    ).toMatchObject({
      ok: true,
    });

    // Alice's laptop starts a conversation with Bob.
    const createPayload = { clientId: 'lunch', title: 'Lunch', memberIds: [bob!.user.id] };
    const created = okOf<CreateResult>(
      await socketWrite(aliceLaptop, 'conversation:create', createPayload),
      'create',
    );
    const stream = created.stream;
    expect(stream).toBe(`conversation:${created.id}`);
    const isMembership = (userId: string) => (change: ChangeEvent) =>
      change.kind === 'conversation_member.created' &&
      isChangeOf(change, 'conversation_member') &&
      change.data.conversationId === created.id &&
      change.data.userId === userId;
    // Bob learns of it live on his own stream; so does Alice's other device on hers.
    await changeOn(bobPhone, bobStream, isMembership(bob!.user.id));
    await changeOn(alicePhone, aliceStream, isMembership(alice!.user.id));

    // A retry of the create through REST answers the same conversation; nothing more is written.
    const retried = await restWrite(server.url, laptop.token, 'conversation:create', createPayload);
    expect(asAck(retried)).toEqual(created);
    expect(
      await count(database, 'SELECT count(*) FROM conversations WHERE creator_device_id = $1', [
        laptop.id,
      ]),
    ).toBe(1);
    expect(
      await count(
        database,
        "SELECT count(*) FROM change_log WHERE stream = $1 AND kind = 'conversation.created'",
        [stream],
      ),
    ).toBe(1);
    expect(
      await count(
        database,
        "SELECT count(*) FROM change_log WHERE stream = $1 AND kind = 'conversation_member.created'",
        [bobStream],
      ),
    ).toBe(1);

    // Everyone subscribes from the start; the head is the create's seq.
    const bobLaptop = await clients.connect(bob!.devices[1]!.token, { name: 'bob-laptop' });
    for (const client of [aliceLaptop, alicePhone, bobPhone, bobLaptop]) {
      expect(await client.emitWithAck('subscribe', { stream, since: 0 })).toEqual({
        ok: true,
        head: created.seq,
        receivedReportMs: expect.any(Number),
      });
    }
    await changeOn(bobPhone, stream, (change) => change.kind === 'conversation.created');

    // The phone sends over REST and retries over the socket: one message, one change.
    const sendPayload = { conversationId: created.id, clientId: 'noon', body: 'Noon?' };
    const sent = asAck(await restWrite(server.url, phone.token, 'message:send', sendPayload));
    const message = okOf<MessageSendResult>(sent, 'send');
    expect(await socketWrite(alicePhone, 'message:send', sendPayload)).toEqual(sent);
    for (const client of [bobPhone, aliceLaptop]) {
      const change = await changeOn(
        client,
        stream,
        messageChange('message.created', message.id, (data) => data.body === 'Noon?'),
      );
      expect(change.seq).toBe(message.seq);
      expect(change.data).toMatchObject({
        seq: message.seq,
        deviceId: phone.id,
        editedAt: null,
        deletedAt: null,
      });
    }
    expect(
      await count(
        database,
        'SELECT count(*) FROM messages WHERE device_id = $1 AND client_id = $2',
        [phone.id, 'noon'],
      ),
    ).toBe(1);
    expect(
      await count(
        database,
        "SELECT count(*) FROM change_log WHERE entity_id = $1 AND kind = 'message.created'",
        [message.id],
      ),
    ).toBe(1);

    // Bob replies; only its author (on any of her devices) may change Alice's message.
    const reply = okOf<MessageSendResult>(
      await socketWrite(bobPhone, 'message:send', {
        conversationId: created.id,
        clientId: 'r',
        body: 'Yes',
      }),
      'reply',
    );
    expect(
      await socketWrite(bobPhone, 'message:edit', { messageId: message.id, body: 'Never' }),
    ).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect(
      await restWrite(server.url, bobDevice.token, 'message:delete', { messageId: message.id }),
    ).toMatchObject({ status: 403, body: { code: 'forbidden' } });

    const edited = okOf<WriteResult>(
      await socketWrite(aliceLaptop, 'message:edit', {
        messageId: message.id,
        body: 'Noon? Or 1pm',
      }),
      'edit',
    );
    const editChange = await changeOn(
      bobPhone,
      stream,
      messageChange('message.updated', message.id, (data) => data.body === 'Noon? Or 1pm'),
    );
    expect(editChange.seq).toBe(edited.seq);
    expect(editChange.data).toMatchObject({
      seq: message.seq,
      editedAt: expect.any(String),
      deletedAt: null,
    });

    // Soft delete (from the phone, over REST): the body goes, the message keeps its place.
    const deleted = bodyOf<WriteResult>(
      await restWrite(server.url, phone.token, 'message:delete', { messageId: message.id }),
      'delete',
    );
    const deleteChange = await changeOn(
      bobPhone,
      stream,
      messageChange('message.updated', message.id, (data) => data.deletedAt !== null),
    );
    expect(deleteChange.seq).toBe(deleted.seq);
    expect(deleteChange.data).toMatchObject({
      seq: message.seq,
      body: '',
      deletedAt: expect.any(String),
    });
    // A deleted message cannot be edited; deleting it again changes nothing.
    expect(
      await socketWrite(alicePhone, 'message:edit', { messageId: message.id, body: 'back' }),
    ).toMatchObject({ ok: false, error: { code: 'conflict' } });
    expect(
      await restWrite(server.url, laptop.token, 'message:edit', {
        messageId: message.id,
        body: 'back',
      }),
    ).toMatchObject({ status: 409, body: { code: 'conflict' } });
    expect(await socketWrite(aliceLaptop, 'message:delete', { messageId: message.id })).toEqual({
      ok: true,
      ...deleted,
    });

    // Read receipts are per device and never move back.
    const readTo = async (client: TestClient, seq: number) =>
      okOf<ReceiptReadResult>(
        await socketWrite(client, 'receipt:read', { conversationId: created.id, seq }),
        `read ${seq}`,
      );
    const laptopRead = await readTo(aliceLaptop, reply.seq);
    expect(laptopRead.readSeq).toBe(reply.seq);
    const phoneRead = await readTo(alicePhone, message.seq);
    expect(phoneRead.readSeq).toBe(message.seq);
    const back = bodyOf<ReceiptReadResult>(
      await restWrite(server.url, laptop.token, 'receipt:read', {
        conversationId: created.id,
        seq: message.seq,
      }),
      'read back',
    );
    expect(back).toEqual({ stream, seq: phoneRead.seq, readSeq: reply.seq });
    expect(
      await socketWrite(bobPhone, 'receipt:read', {
        conversationId: created.id,
        seq: back.seq + 1,
      }),
    ).toMatchObject({ ok: false, error: { code: 'invalid_payload' } });
    const isReceipt = (deviceId: string, readSeq: number) => (change: ChangeEvent) =>
      isChangeOf(change, 'read_receipt') &&
      change.data.deviceId === deviceId &&
      change.data.readSeq === readSeq;
    expect((await changeOn(bobPhone, stream, isReceipt(laptop.id, reply.seq))).seq).toBe(
      laptopRead.seq,
    );
    expect((await changeOn(bobPhone, stream, isReceipt(phone.id, message.seq))).seq).toBe(
      phoneRead.seq,
    );
    expect(
      bobPhone.changes(stream).filter(({ change }) => isChangeOf(change, 'read_receipt')),
    ).toHaveLength(2);
    const snapshot = bodyOf<ConversationSnapshot>(
      await restCall(server.url, 'GET', `/v1/streams/${stream}/snapshot`, {
        token: bobDevice.token,
      }),
      'conversation snapshot',
    );
    expect(snapshot.seq).toBe(phoneRead.seq);
    expect(
      Object.fromEntries(snapshot.receipts.map((receipt) => [receipt.deviceId, receipt.readSeq])),
    ).toEqual({ [laptop.id]: reply.seq, [phone.id]: message.seq });
    expect(snapshot.messages.map(({ id, seq, body }) => ({ id, seq, body }))).toEqual([
      { id: message.id, seq: message.seq, body: '' },
      { id: reply.id, seq: reply.seq, body: 'Yes' },
    ]);

    // Alice removes Bob: his sockets lose the conversation, his writes and reads are refused.
    const removed = bodyOf<WriteResult>(
      await restWrite(server.url, laptop.token, 'conversation:remove_member', {
        conversationId: created.id,
        userId: bob!.user.id,
      }),
      'remove',
    );
    for (const client of [bobPhone, bobLaptop]) {
      const [unsubscribed] = await client.waitFor('unsubscribed');
      expect(unsubscribed).toEqual({ stream, reason: 'access_revoked' });
    }
    await changeOn(
      bobPhone,
      bobStream,
      (change) =>
        change.kind === 'conversation_member.deleted' &&
        isChangeOf(change, 'conversation_member') &&
        change.data.conversationId === created.id,
    );
    const afterRemoval = { conversationId: created.id, clientId: 'after', body: 'still here?' };
    expect(await socketWrite(bobPhone, 'message:send', afterRemoval)).toMatchObject({
      ok: false,
      error: { code: 'forbidden' },
    });
    expect(
      await restWrite(server.url, bobDevice.token, 'message:send', afterRemoval),
    ).toMatchObject({
      status: 403,
      body: { code: 'forbidden' },
    });
    expect(await bobPhone.emitWithAck('subscribe', { stream })).toMatchObject({
      ok: false,
      error: { code: 'forbidden' },
    });
    for (const path of [
      `/v1/streams/${stream}/snapshot`,
      `/v1/conversations/${created.id}/messages`,
    ]) {
      expect(
        await restCall(server.url, 'GET', path, { token: bobDevice.token }),
        path,
      ).toMatchObject({
        status: 403,
        body: { code: 'forbidden' },
      });
    }
    // What Alice writes next reaches her devices, not Bob.
    const later = okOf<MessageSendResult>(
      await socketWrite(aliceLaptop, 'message:send', {
        conversationId: created.id,
        clientId: 'later',
        body: 'bye',
      }),
      'later',
    );
    await changeOn(
      alicePhone,
      stream,
      messageChange('message.created', later.id, () => true),
    );
    expect(bobPhone.changes(stream).filter(({ change }) => change.seq > removed.seq)).toEqual([]);
    expect(bobPhone.lastSeq(stream)).toBe(removed.seq);
  });

  test('a send retried after its user lost access answers the send that committed; a new send is forbidden', async ({
    server,
    clients,
    database,
  }) => {
    const [alice, bob] = await signedUsers(database.db, [1, 1]);
    const phone = await clients.connect(bob!.devices[0]!.token, { name: 'bob-phone' });
    const created = okOf<CreateResult>(
      await restWrite(server.url, alice!.devices[0]!.token, 'conversation:create', {
        clientId: 'c',
        memberIds: [bob!.user.id],
      }).then(asAck),
      'create',
    );
    const send = { conversationId: created.id, clientId: 'sent-once', body: 'hi' };
    const first = okOf<MessageSendResult>(
      await socketWrite(phone, 'message:send', send),
      'first send',
    );
    // Bob is removed after his send committed, before its ack reached him: he sends it again.
    okOf(
      await restWrite(server.url, alice!.devices[0]!.token, 'conversation:remove_member', {
        conversationId: created.id,
        userId: bob!.user.id,
      }).then(asAck),
      'remove',
    );
    for (const retry of [
      await socketWrite(phone, 'message:send', send),
      asAck(await restWrite(server.url, bob!.devices[0]!.token, 'message:send', send)),
    ]) {
      expect(retry).toEqual({ ok: true, id: first.id, stream: first.stream, seq: first.seq });
    }
    const refused = await socketWrite(phone, 'message:send', { ...send, clientId: 'new' });
    expect(refused).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect(
      await count(database, 'SELECT count(*) FROM messages WHERE conversation_id = $1', [
        created.id,
      ]),
    ).toBe(1);
  });

  test('history over REST pages through every message newest first by seq, and keeps the seqs once retention removed their changes', async ({
    startServer,
    database,
  }) => {
    const server = await startServer(UNLIMITED);
    const [alice, bob, carol] = await signedUsers(database.db, [1, 1, 1]);
    const aliceToken = alice!.devices[0]!.token;
    const bobToken = bob!.devices[0]!.token;
    const created = bodyOf<CreateResult>(
      await restWrite(server.url, aliceToken, 'conversation:create', {
        clientId: 'history',
        memberIds: [bob!.user.id],
      }),
      'create',
    );
    const stream = created.stream;
    const aliceSocket = await TestClient.connect({
      url: server.url,
      token: aliceToken,
      name: 'alice',
    });
    try {
      // 20 messages from both users and both paths, with receipts, edits and deletes in between,
      // so the messages' seqs are not consecutive.
      const sent: MessageSendResult[] = [];
      for (let i = 0; i < 20; i++) {
        const payload = { conversationId: created.id, clientId: `m${i}`, body: `message ${i}` };
        const ack =
          i % 2 === 0
            ? await socketWrite(aliceSocket, 'message:send', payload)
            : asAck(await restWrite(server.url, bobToken, 'message:send', payload));
        const message = okOf<MessageSendResult>(ack, `send ${i}`);
        sent.push(message);
        if (i % 3 === 0) {
          bodyOf(
            await restWrite(server.url, bobToken, 'receipt:read', {
              conversationId: created.id,
              seq: message.seq,
            }),
            'read',
          );
        }
        if (i % 4 === 0) {
          okOf(
            await socketWrite(aliceSocket, 'message:edit', {
              messageId: sent[i / 2]!.id,
              body: 'edited',
            }),
            'edit',
          );
        }
        if (i === 9) {
          okOf(
            await socketWrite(aliceSocket, 'message:delete', { messageId: sent[4]!.id }),
            'delete',
          );
        }
      }
      const seqs = sent.map(({ seq }) => seq);
      expect(new Set(seqs).size).toBe(20);
      expect(seqs.some((seq, i) => i > 0 && seq - seqs[i - 1]! > 1)).toBe(true);
      const newestFirst = [...sent].reverse().map(({ id, seq }) => ({ id, seq }));

      const walk = async (
        limit: number,
      ): Promise<{ pages: HistoryPage[]; messages: MessageData[] }> => {
        const pages: HistoryPage[] = [];
        let before: number | null | undefined;
        do {
          const query = `limit=${limit}${before === undefined ? '' : `&before=${before}`}`;
          const page = bodyOf<HistoryPage>(
            await restCall(server.url, 'GET', `/v1/conversations/${created.id}/messages?${query}`, {
              token: aliceToken,
            }),
            `history ${query}`,
          );
          pages.push(page);
          expect(page.messages.length).toBeLessThanOrEqual(limit);
          if (page.nextBefore !== null) {
            expect(page.messages).toHaveLength(limit);
            expect(page.nextBefore).toBe(page.messages.at(-1)!.seq);
          }
          before = page.nextBefore;
          expect(pages.length).toBeLessThanOrEqual(25);
        } while (before !== null);
        return { pages, messages: pages.flatMap((page) => page.messages) };
      };

      const walks = new Map<number, MessageData[]>();
      for (const [limit, pageCount] of [
        [5, 4],
        [7, 3],
        [200, 1],
        [1, 20],
      ] as const) {
        const { pages, messages } = await walk(limit);
        expect(pages, `limit ${limit}`).toHaveLength(pageCount);
        // Every message once, newest first by seq: no overlap, no gap between pages.
        expect(
          messages.map(({ id, seq }) => ({ id, seq })),
          `limit ${limit}`,
        ).toEqual(newestFirst);
        walks.set(limit, messages);
      }
      const all = walks.get(200)!;
      expect(all.find(({ id }) => id === sent[4]!.id)).toMatchObject({
        body: '',
        deletedAt: expect.any(String),
      });
      expect(all.find(({ id }) => id === sent[0]!.id)).toMatchObject({
        body: 'edited',
        editedAt: expect.any(String),
      });
      expect(all.find(({ id }) => id === sent[19]!.id)).toMatchObject({
        body: 'message 19',
        authorId: bob!.user.id,
      });

      // `before` past the head starts from the newest; before the first message, nothing.
      expect(
        bodyOf<HistoryPage>(
          await restCall(
            server.url,
            'GET',
            `/v1/conversations/${created.id}/messages?before=1000000&limit=3`,
            {
              token: aliceToken,
            },
          ),
          'before past head',
        ).messages.map(({ seq }) => seq),
      ).toEqual(seqs.slice(-3).reverse());
      expect(
        await restCall(
          server.url,
          'GET',
          `/v1/conversations/${created.id}/messages?before=${seqs[0]}`,
          {
            token: aliceToken,
          },
        ),
      ).toMatchObject({ status: 200, body: { messages: [], nextBefore: null } });
      for (const query of ['limit=0', 'limit=201', 'before=soon', 'after=3']) {
        expect(
          await restCall(server.url, 'GET', `/v1/conversations/${created.id}/messages?${query}`, {
            token: aliceToken,
          }),
          query,
        ).toMatchObject({ status: 400, body: { code: 'invalid_payload' } });
      }
      expect(
        await restCall(server.url, 'GET', `/v1/conversations/${created.id}/messages`, {
          token: carol!.devices[0]!.token,
        }),
      ).toMatchObject({ status: 403, body: { code: 'forbidden' } });
      expect(
        await restCall(server.url, 'GET', `/v1/conversations/${randomUUID()}/messages`, {
          token: aliceToken,
        }),
      ).toMatchObject({ status: 404, body: { code: 'not_found' } });

      // Retention takes the stream's changes: history still pages by the same seqs.
      const removed = await database.pool.query('DELETE FROM change_log WHERE stream = $1', [
        stream,
      ]);
      expect(removed.rowCount).toBeGreaterThan(20);
      for (const [limit, messages] of walks) {
        expect((await walk(limit)).messages, `limit ${limit} after retention`).toEqual(messages);
      }
      const snapshot = bodyOf<ConversationSnapshot>(
        await restCall(server.url, 'GET', `/v1/streams/${stream}/snapshot?messages=5`, {
          token: aliceToken,
        }),
        'snapshot',
      );
      expect(snapshot.messages.map(({ id, seq }) => ({ id, seq }))).toEqual(
        newestFirst.slice(0, 5).reverse(),
      );
      // A device resuming from before the removed changes is told to refetch, never left
      // silent; from the snapshot's seq it resumes and gets what follows.
      const late = await TestClient.connect({ url: server.url, token: bobToken, name: 'bob' });
      try {
        expect(await late.emitWithAck('subscribe', { stream, since: 0 })).toMatchObject({
          ok: false,
          error: { code: 'conflict' },
        });
        const [resync] = await late.waitFor('resync_required');
        expect(resync).toEqual({ stream, reason: 'since_before_retention', head: snapshot.seq });
        expect(await late.emitWithAck('subscribe', { stream, since: snapshot.seq })).toEqual({
          ok: true,
          head: snapshot.seq,
          receivedReportMs: expect.any(Number),
        });
        const next = okOf<MessageSendResult>(
          await socketWrite(aliceSocket, 'message:send', {
            conversationId: created.id,
            clientId: 'after-retention',
            body: 'still numbered',
          }),
          'send after retention',
        );
        expect(next.seq).toBe(snapshot.seq + 1);
        await late.expectReceivedOnce(stream, [next.seq]);
        expect(late.changes(stream).map(({ change }) => change.seq)).toEqual([next.seq]);
      } finally {
        late.close();
      }
    } finally {
      aliceSocket.close();
    }
  });
});
