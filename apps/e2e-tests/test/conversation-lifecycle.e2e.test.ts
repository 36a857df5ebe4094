import { randomUUID } from 'node:crypto';
import { createClient, type CcsClient } from '@ccs/client';
import {
  isChangeOf,
  type ChangeEvent,
  type ConversationSnapshot,
  type CreateResult,
  type MessageSendResult,
  type StreamName,
  type WireError,
  type WriteResult,
} from '@ccs/protocol';
import { restCall, TestClient, type RestAnswer } from '@ccs/test-clients';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  recordClient,
  recordSubscription,
  seqRange,
  type SubscriptionRecord,
} from './client-sdk-helpers.js';
import { mintDevToken, startOwnServer, type OwnServer } from './own-server.js';
import { DeviceState, messageView, type MessageView } from './product-workflow-helpers.js';

// A server process of this file's own (the suite's shared one is for files that read its
// server-wide counters).
let own: OwnServer;

beforeAll(async () => {
  own = await startOwnServer('lifecycle');
});

afterAll(async () => {
  await own?.close();
});

/** What the test opened, closed after it (last opened, first closed) whatever happened. */
const cleanups: (() => unknown)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A device signed in as an app does it: a token from `POST /v1/dev/tokens`. */
interface SignedIn {
  readonly userId: string;
  readonly deviceId: string;
  readonly token: string;
}

async function signIn(userId: string): Promise<SignedIn> {
  const { token, deviceId } = await mintDevToken(own.server.url, { userId });
  return { userId, deviceId, token };
}

/** The device SDK as an app creates it (reconnecting quickly), closed after the test. */
function sdkDevice(device: SignedIn): CcsClient {
  const client = createClient({
    url: own.server.url,
    token: device.token,
    reconnect: { initialDelayMs: 50, maxDelayMs: 250, jitter: 0.5 },
    ackTimeoutMs: 5000,
  });
  cleanups.push(() => client.close());
  return client;
}

/** A plain socket.io device of the test kit, closed after the test. */
async function socketDevice(device: SignedIn, name: string): Promise<TestClient> {
  const client = await TestClient.connect({ url: own.server.url, token: device.token, name });
  cleanups.push(() => client.close());
  return client;
}

/** A `/v1` REST call with a device token. */
const rest = (
  token: string,
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
  path: string,
  json?: object,
): Promise<RestAnswer> => restCall(own.server.url, method, `/v1${path}`, { token, json });

/** A REST write that must succeed: its result. */
async function restWrite<R extends WriteResult>(
  token: string,
  method: 'POST' | 'PATCH' | 'DELETE',
  path: string,
  body?: object,
): Promise<R> {
  const answer = await rest(token, method, path, body);
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return answer.body as R;
}

/** A socket write that must succeed: its result. */
function ok<A extends { readonly ok: boolean }>(ack: A): Extract<A, { ok: true }> {
  if (!ack.ok) throw new Error(`write refused: ${JSON.stringify(ack)}`);
  return ack as Extract<A, { ok: true }>;
}

const snapshotPath = (stream: StreamName): string =>
  `/streams/${encodeURIComponent(stream)}/snapshot`;

/** Whether `change` (of a user's own stream) says that the user joined or left `conversationId`. */
const membershipChange =
  (verb: 'created' | 'deleted', conversationId: string) =>
  (change: ChangeEvent): boolean =>
    isChangeOf(change, 'conversation_member') &&
    change.kind === `conversation_member.${verb}` &&
    change.data.conversationId === conversationId;

/** Resolves once a test client received, on its user's own stream, a change that `matches`. */
async function learnsOnOwnStream(
  client: TestClient,
  userId: string,
  matches: (change: ChangeEvent) => boolean,
): Promise<void> {
  await client.waitFor('change', {
    predicate: (change) => change.stream === `user:${userId}` && matches(change),
  });
}

/** What a device shows of a conversation: its title, its members, its messages by seq. */
interface ConversationView {
  readonly title: string;
  readonly members: readonly string[];
  readonly messages: readonly MessageView[];
}

const bySeq = (messages: Iterable<MessageView>): MessageView[] =>
  [...messages].sort((a, b) => a.seq - b.seq);

/** A device's view, built only from the changes of the conversation's stream it received. */
function viewFrom(changes: readonly ChangeEvent[]): ConversationView {
  let title = '';
  const members = new Set<string>();
  const state = new DeviceState();
  for (const change of changes) {
    if (isChangeOf(change, 'conversation')) title = change.data.title;
    else if (isChangeOf(change, 'conversation_member')) {
      if (change.kind === 'conversation_member.deleted') members.delete(change.data.userId);
      else members.add(change.data.userId);
    } else state.apply(change);
  }
  return { title, members: [...members].sort(), messages: bySeq(state.messages.values()) };
}

/** A device following the conversation: the SDK's subscription, or a test client's history. */
interface ChatFollower {
  readonly name: string;
  /** Resolves once the device has received the change `seq`. */
  sees(seq: number): Promise<void>;
  /** Seqs received, in the order they came (an SDK device: as handed to the app). */
  seqs(): number[];
  /** Kinds of the changes received, in the same order. */
  kinds(): string[];
  view(): ConversationView;
}

function sdkFollower(name: string, chat: SubscriptionRecord): ChatFollower {
  return {
    name,
    sees: async (seq) => {
      await chat.sees(seq);
    },
    seqs: () => chat.seqs(),
    kinds: () => chat.changes.items.map((change) => change.kind),
    view: () => viewFrom(chat.changes.items),
  };
}

function socketFollower(client: TestClient, stream: StreamName): ChatFollower {
  const changes = (): ChangeEvent[] => client.changes(stream).map(({ change }) => change);
  return {
    name: client.name,
    sees: async (seq) => {
      await client.waitFor('change', { predicate: (c) => c.stream === stream && c.seq === seq });
    },
    seqs: () => changes().map((change) => change.seq),
    kinds: () => changes().map((change) => change.kind),
    view: () => viewFrom(changes()),
  };
}

/** Resolves once every follower has received the change `seq`. */
async function allSee(followers: readonly ChatFollower[], seq: number): Promise<void> {
  await Promise.all(followers.map((follower) => follower.sees(seq)));
}

describe('conversation lifecycle, end to end', () => {
  it('Ada (phone, laptop), Bob and Cleo: a conversation created, joined, renamed and written in; Cleo removed; the laptop revoked; every remaining device ends on the server state', async () => {
    const server = own.server;

    // 1. Four devices sign in through POST /v1/dev/tokens: Ada's phone and laptop run the
    //    device SDK, Bob and Cleo the test kit's socket client. Each follows its user's stream.
    const ada = randomUUID();
    const bob = randomUUID();
    const cleo = randomUUID();
    // One after the other: two first sign-ins of one new user at once collide on creating the
    // user (the second is answered 500 `internal`).
    const phoneLogin = await signIn(ada);
    const laptopLogin = await signIn(ada);
    const bobLogin = await signIn(bob);
    const cleoLogin = await signIn(cleo);
    const adaStream: StreamName = `user:${ada}`;
    const phone = sdkDevice(phoneLogin);
    const laptop = sdkDevice(laptopLogin);
    const phoneEvents = recordClient(phone);
    const laptopEvents = recordClient(laptop);
    const phoneAda = recordSubscription(phone.subscribe(adaStream, { since: 0 }));
    const laptopAda = recordSubscription(laptop.subscribe(adaStream, { since: 0 }));
    await Promise.all([phoneAda.subscription.ready, laptopAda.subscription.ready]);
    const bobDevice = await socketDevice(bobLogin, 'bob');
    const cleoDevice = await socketDevice(cleoLogin, 'cleo');
    for (const [device, userId] of [
      [bobDevice, bob],
      [cleoDevice, cleo],
    ] as const) {
      ok(await device.emitWithAck('subscribe', { stream: `user:${userId}`, since: 0 }));
    }

    // 2. The phone creates "Book club" with Bob (a socket write through the SDK); the laptop
    //    and Bob learn it from their user's stream and follow it from its first change.
    const chat: CreateResult = await phone.write('conversation:create', {
      clientId: 'book-club',
      title: 'Book club',
      memberIds: [bob],
    });
    const stream = chat.stream;
    expect(stream).toBe(`conversation:${chat.id}`);
    await laptopAda.changes.waitFor(membershipChange('created', chat.id));
    await learnsOnOwnStream(bobDevice, bob, membershipChange('created', chat.id));
    const phoneChat = recordSubscription(phone.subscribe(stream, { since: 0 }));
    const laptopChat = recordSubscription(laptop.subscribe(stream, { since: 0 }));
    await Promise.all([phoneChat.subscription.ready, laptopChat.subscription.ready]);
    ok(await bobDevice.emitWithAck('subscribe', { stream, since: 0 }));

    // Bob adds Cleo over REST; Cleo learns it from her stream and follows from the start.
    const cleoAdded = await restWrite(bobLogin.token, 'POST', `/conversations/${chat.id}/members`, {
      userId: cleo,
    });
    expect(cleoAdded.stream).toBe(stream);
    await learnsOnOwnStream(cleoDevice, cleo, membershipChange('created', chat.id));
    ok(await cleoDevice.emitWithAck('subscribe', { stream, since: 0 }));

    const phoneFollows = sdkFollower('ada-phone', phoneChat);
    const laptopFollows = sdkFollower('ada-laptop', laptopChat);
    const bobFollows = socketFollower(bobDevice, stream);
    const cleoFollows = socketFollower(cleoDevice, stream);
    const everyone = [phoneFollows, laptopFollows, bobFollows, cleoFollows];

    // 3. The laptop renames it (SDK), then each member writes: the phone through the SDK, Bob
    //    on his socket, Cleo over REST. Every device sees every change, once, in order.
    const renamed = await laptop.write('conversation:update', {
      conversationId: chat.id,
      title: 'Book club: Middlemarch',
    });
    const sent: MessageSendResult[] = [
      await phone.write('message:send', {
        conversationId: chat.id,
        clientId: 'phone-1',
        body: 'Chapter 1 by Friday?',
      }),
      ok(
        await bobDevice.emitWithAck('message:send', {
          conversationId: chat.id,
          clientId: 'bob-1',
          body: 'Friday works',
        }),
      ),
      await restWrite<MessageSendResult>(
        cleoLogin.token,
        'POST',
        `/conversations/${chat.id}/messages`,
        { clientId: 'cleo-1', body: 'I am in' },
      ),
    ];
    const beforeRemoval = sent.at(-1)!.seq;
    expect(renamed.seq).toBeGreaterThan(cleoAdded.seq);
    expect(sent.map((message) => message.seq)).toEqual(seqRange(renamed.seq + 1, beforeRemoval));
    await allSee(everyone, beforeRemoval);
    for (const follower of everyone) {
      expect(follower.seqs(), follower.name).toEqual(seqRange(1, beforeRemoval));
      expect(follower.view(), follower.name).toMatchObject({
        title: 'Book club: Middlemarch',
        members: [ada, bob, cleo].sort(),
        messages: [
          { seq: sent[0]!.seq, body: 'Chapter 1 by Friday?', deleted: false },
          { seq: sent[1]!.seq, body: 'Friday works', deleted: false },
          { seq: sent[2]!.seq, body: 'I am in', deleted: false },
        ],
      });
    }

    // 4. The phone removes Cleo. Her subscription ends with that change, told why; the others
    //    go on without her.
    const removal = await phone.write('conversation:remove_member', {
      conversationId: chat.id,
      userId: cleo,
    });
    expect(removal.seq).toBe(beforeRemoval + 1);
    const [unsubscribed] = await cleoDevice.waitFor('unsubscribed', {
      predicate: (event) => event.stream === stream,
    });
    expect(unsubscribed).toEqual({ stream, reason: 'access_revoked' });
    const cleoLast = cleoDevice.changes(stream).at(-1)!.change;
    expect(cleoLast).toMatchObject({ seq: removal.seq, kind: 'conversation_member.deleted' });
    expect(isChangeOf(cleoLast, 'conversation_member') && cleoLast.data.userId).toBe(cleo);
    await learnsOnOwnStream(cleoDevice, cleo, membershipChange('deleted', chat.id));
    const remaining = [phoneFollows, laptopFollows, bobFollows];
    await allSee(remaining, removal.seq);

    // Bob writes and renames again: the others see it, Cleo does not.
    const afterRemoval = ok(
      await bobDevice.emitWithAck('message:send', {
        conversationId: chat.id,
        clientId: 'bob-2',
        body: 'Cleo left; two of us then',
      }),
    );
    const renamedAgain = ok(
      await bobDevice.emitWithAck('conversation:update', {
        conversationId: chat.id,
        title: 'Book club (Ada & Bob)',
      }),
    );
    await allSee(remaining, renamedAgain.seq);
    // Cleo is refused everywhere, each with a code. Her socket's answers come after anything the
    // server sent her before them, and the room already had Bob's changes: none reached her.
    expect(await cleoDevice.emitWithAck('subscribe', { stream, since: removal.seq })).toMatchObject(
      { ok: false, error: { code: 'forbidden' } },
    );
    expect(
      await cleoDevice.emitWithAck('message:send', {
        conversationId: chat.id,
        clientId: 'cleo-2',
        body: 'still here?',
      }),
    ).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect(await rest(cleoLogin.token, 'GET', snapshotPath(stream))).toMatchObject({
      status: 403,
      body: { code: 'forbidden' },
    });
    expect(
      await rest(cleoLogin.token, 'POST', `/conversations/${chat.id}/messages`, {
        clientId: 'cleo-3',
        body: 'over REST then?',
      }),
    ).toMatchObject({ status: 403, body: { code: 'forbidden' } });
    expect(cleoFollows.seqs()).toEqual(seqRange(1, removal.seq));
    expect(cleoDevice.received('unsubscribed')).toHaveLength(1);
    expect(cleoDevice.state).toBe('connected');

    // 5. Ada's laptop is revoked. The product has no API for it (no REST or admin route, no
    //    socket event), so it is done as an operator would: in the database, which every
    //    gateway reads from the change log like any other change.
    const laptopSeqs = laptopFollows.seqs();
    const phoneStatesBefore = phoneEvents.states.items.length;
    const revoked = await own.database.pool.query<{ revoked_at: Date }>(
      'UPDATE devices SET revoked_at = now() WHERE id = $1 RETURNING revoked_at',
      [laptopLogin.deviceId],
    );
    expect(revoked.rowCount).toBe(1);
    // The laptop's SDK closes for good with the reason; its streams end, its writes are refused.
    const closed = await laptopEvents.states.waitFor((event) => event.state === 'closed');
    expect(closed).toMatchObject({ state: 'closed', reason: 'device_revoked' });
    expect(laptop.state).toBe('closed');
    for (const record of [laptopChat, laptopAda]) {
      expect(record.ended.items).toEqual([{ reason: 'closed', message: expect.any(String) }]);
    }
    await expect(
      laptop.write('message:send', {
        conversationId: chat.id,
        clientId: 'laptop-after',
        body: 'never sent',
      }),
    ).rejects.toMatchObject({ code: 'closed' });
    // The phone learns it on Ada's own stream, and stays connected.
    const laptopChange = await phoneAda.changes.waitFor(
      (change) =>
        isChangeOf(change, 'device') &&
        change.data.id === laptopLogin.deviceId &&
        change.data.revokedAt !== null,
    );
    expect(laptopChange.kind).toBe('device.updated');

    // The laptop's token is refused afterwards: over REST, on a new socket, by a new SDK client,
    // and no new token is minted for the device.
    expect(await rest(laptopLogin.token, 'GET', snapshotPath(stream))).toMatchObject({
      status: 401,
      body: { code: 'unauthorized' },
    });
    const refusedSocket = new TestClient({
      url: server.url,
      token: laptopLogin.token,
      name: 'revoked-laptop',
    });
    cleanups.push(() => refusedSocket.close());
    const refusal = await refusedSocket.open().then(
      () => undefined,
      (error: unknown) => error as Error & { data?: WireError },
    );
    expect(refusal?.data).toMatchObject({ code: 'unauthorized' });
    const laptopAgain = sdkDevice(laptopLogin);
    const againEvents = recordClient(laptopAgain);
    const refusedAgain = await againEvents.states.waitFor((event) => event.reason === 'refused');
    expect(refusedAgain).toMatchObject({ state: 'disconnected', error: { code: 'unauthorized' } });
    expect(await againEvents.states.waitFor((event) => event.state === 'closed')).toEqual({
      state: 'closed',
      reason: 'refused',
    });
    await expect(
      mintDevToken(server.url, { userId: ada, deviceId: laptopLogin.deviceId }),
    ).rejects.toThrow(/409.*revoked/);

    // The phone keeps receiving: Bob writes, the phone writes, both see both.
    const lastOnes = [
      ok(
        await bobDevice.emitWithAck('message:send', {
          conversationId: chat.id,
          clientId: 'bob-3',
          body: 'Laptop gone? Ada, still there?',
        }),
      ),
      await phone.write('message:send', {
        conversationId: chat.id,
        clientId: 'phone-2',
        body: 'On my phone, yes',
      }),
    ];
    const live = [phoneFollows, bobFollows];
    await allSee(live, lastOnes[1]!.seq);
    expect(phone.state).toBe('connected');
    expect(phoneEvents.states.items.length).toBe(phoneStatesBefore);
    expect(laptopFollows.seqs()).toEqual(laptopSeqs);
    expect(laptopSeqs).toEqual(seqRange(1, renamedAgain.seq));

    // 6. Every remaining device shows what the server's snapshot has, and what PostgreSQL has.
    const snapshot = await phone.snapshot<ConversationSnapshot>(stream);
    expect(snapshot.seq).toBe(lastOnes[1]!.seq);
    const serverView: ConversationView = {
      title: snapshot.conversation.title,
      members: snapshot.members.map((member) => member.userId).sort(),
      messages: bySeq(snapshot.messages.map(messageView)),
    };
    const { db } = own.database;
    const conversationRow = await db.query.conversations.findFirst({
      where: (conversation, { eq }) => eq(conversation.id, chat.id),
    });
    const memberRows = await db.query.conversationMembers.findMany({
      where: (member, { eq }) => eq(member.conversationId, chat.id),
    });
    const messageRows = await db.query.messages.findMany({
      where: (message, { eq }) => eq(message.conversationId, chat.id),
      orderBy: (message, { asc }) => [asc(message.seq)],
    });
    const headRow = await db.query.streamHeads.findFirst({
      where: (head, { eq }) => eq(head.stream, stream),
    });
    const databaseView: ConversationView = {
      title: conversationRow!.title,
      members: memberRows.map((member) => member.userId).sort(),
      messages: messageRows.map((message) => ({
        id: message.id,
        seq: message.seq,
        body: message.body,
        deleted: message.deletedAt !== null,
      })),
    };
    expect(Number(headRow!.head)).toBe(snapshot.seq);
    expect(serverView).toEqual(databaseView);
    expect(serverView).toMatchObject({
      title: 'Book club (Ada & Bob)',
      members: [ada, bob].sort(),
      messages: [
        { body: 'Chapter 1 by Friday?' },
        { body: 'Friday works' },
        { body: 'I am in' },
        { seq: afterRemoval.seq, body: 'Cleo left; two of us then' },
        { body: 'Laptop gone? Ada, still there?' },
        { body: 'On my phone, yes' },
      ],
    });
    for (const follower of live) {
      expect(follower.view(), follower.name).toEqual(serverView);
      expect(follower.seqs(), follower.name).toEqual(seqRange(1, snapshot.seq));
    }
    await bobDevice.expectReceivedOnce(stream, snapshot.seq);
    expect(bobFollows.kinds()).toEqual([
      'conversation.created',
      'conversation_member.created',
      'conversation_member.created',
      'conversation_member.created',
      'conversation.updated',
      'message.created',
      'message.created',
      'message.created',
      'conversation_member.deleted',
      'message.created',
      'conversation.updated',
      'message.created',
      'message.created',
    ]);
    expect(phoneFollows.kinds()).toEqual(bobFollows.kinds());
    for (const record of [phoneChat, phoneAda]) expect(record.resync.items).toEqual([]);
    expect(bobDevice.received('resync_required')).toEqual([]);
  });
});
