import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClientError, createClient, type CcsClient, type ClientOptions } from '@ccs/client';
import { FileOutboxStorage } from '@ccs/client/node';
import { seedConversationScenario, type ConversationScenario } from '@ccs/fixtures';
import {
  isChangeOf,
  signDeviceToken,
  type ChangeEvent,
  type ConversationSnapshot,
  type MessageSendResult,
  type WorkspaceSnapshot,
} from '@ccs/protocol';
import { restCall, TestClient } from '@ccs/test-clients';
import type { ServerProcess, TestDatabase } from '@ccs/test-env';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mintDevToken, startOwnServer, type OwnServer } from './own-server.js';
import {
  deferred,
  PollingProxy,
  recordClient,
  recordSubscription,
  seqRange,
  settle,
  waitUntil,
} from './client-sdk-helpers.js';
import { NetworkLink } from './product-workflow-helpers.js';

// Server processes of this file's own (not the suite's shared one, whose counters other files
// assert); a second node is started where a node is killed.
let ownServer: OwnServer;
let database: TestDatabase;
let server: ServerProcess;
let jwtSecret: string;

beforeAll(async () => {
  ownServer = await startOwnServer('sdk');
  ({ database, server, jwtSecret } = ownServer);
});

afterAll(async () => {
  await ownServer?.close();
});

/** What a test opened, closed after it (last opened, first closed) whatever happened. */
const cleanups: (() => unknown)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A client of the SDK under test, reconnecting quickly, closed after the test. */
function sdkClient(options: ClientOptions): CcsClient {
  const client = createClient({
    reconnect: { initialDelayMs: 50, maxDelayMs: 250, jitter: 0.5 },
    ackTimeoutMs: 5000,
    ...options,
  });
  cleanups.push(() => client.close());
  return client;
}

/** A plain socket.io device (the reference client of the test kit), closed after the test. */
async function testClient(token: string, name: string, url = server.url): Promise<TestClient> {
  const client = await TestClient.connect({ url, token, name });
  cleanups.push(() => client.close());
  return client;
}

async function networkLink(url = server.url): Promise<NetworkLink> {
  const link = await NetworkLink.open(url);
  cleanups.push(() => link.close());
  return link;
}

/** How many device reports (`changes:received`) the server at `url` has timed so far. */
async function deviceAcksOf(url: string): Promise<number> {
  const scrape = await restCall(url, 'GET', '/metrics');
  const line = String(scrape.body)
    .split('\n')
    .find((candidate) => candidate.startsWith('ccs_commit_to_device_ack_seconds_count '));
  return Number(line?.split(' ')[1] ?? Number.NaN);
}

/** A conversation of Alice (two devices) and Bob (one); its stream starts at seq 3. */
function seed(): Promise<ConversationScenario> {
  return seedConversationScenario(database.db, { jwtSecret, userNames: ['alice', 'bob'] });
}

function devices(scenario: ConversationScenario) {
  const [alice, bob] = scenario.users;
  return {
    aliceLaptop: alice!.devices[0]!,
    alicePhone: alice!.devices[1]!,
    bobPhone: bob!.devices[0]!,
  };
}

/** Sends a message from a test client; the ack must be ok. */
async function send(
  client: TestClient,
  conversationId: string,
  clientId: string,
  body: string,
): Promise<MessageSendResult> {
  const ack = await client.emitWithAck('message:send', { conversationId, clientId, body });
  if (!ack.ok) throw new Error(`message:send refused: ${JSON.stringify(ack.error)}`);
  return ack;
}

/** Bodies of the messages created in `changes`, in order. */
const bodies = (changes: readonly ChangeEvent[]): string[] =>
  changes.flatMap((change) =>
    isChangeOf(change, 'message') && change.kind === 'message.created' ? [change.data.body] : [],
  );

/** Rows the database has for these client ids of a conversation (a retried write made one). */
async function messageRows(conversationId: string, clientIds: readonly string[]) {
  const { rows } = await database.pool.query<{ client_id: string; seq: number; body: string }>(
    `SELECT client_id, seq::int AS seq, body FROM messages
     WHERE conversation_id = $1 AND client_id = ANY($2) ORDER BY seq`,
    [conversationId, clientIds],
  );
  return rows;
}

/** A development token from `POST /v1/dev/tokens`, living `expiresIn`. */
async function devToken(
  device: { readonly userId: string; readonly id: string },
  expiresIn: string,
): Promise<string> {
  return (await mintDevToken(server.url, { userId: device.userId, deviceId: device.id, expiresIn }))
    .token;
}

describe('@ccs/client against real server processes', () => {
  it('delivers three messages written offline exactly once, in order, to the other devices', async () => {
    const scenario = await seed();
    const { aliceLaptop, alicePhone, bobPhone } = devices(scenario);
    const conversationId = scenario.conversation.id;
    const network = await networkLink();
    const laptop = sdkClient({ url: network.url, token: aliceLaptop.token });
    const laptopEvents = recordClient(laptop);
    const chat = recordSubscription(laptop.subscribe(scenario.stream));
    const others = [
      await testClient(alicePhone.token, 'alice-phone'),
      await testClient(bobPhone.token, 'bob-phone'),
    ];
    for (const device of others) {
      expect(await device.emitWithAck('subscribe', { stream: scenario.stream })).toEqual({
        ok: true,
        head: 3,
        receivedReportMs: expect.any(Number),
      });
    }
    expect(await chat.subscription.ready).toEqual({ head: 3 });
    expect(chat.live.items).toEqual([{ head: 3, since: 3, outcome: 'started' }]);

    // The laptop loses its network and stays offline while the app writes three messages.
    const offlineAt = laptopEvents.states.items.length;
    network.cut();
    await laptopEvents.states.waitFor((event) => event.state === 'disconnected', {
      from: offlineAt,
    });
    expect(laptop.state).toBe('disconnected');
    const clientIds = ['offline-1', 'offline-2', 'offline-3'];
    const texts = ['Boarding now', 'Phone at 5%', 'Call you from Lisbon'];
    const resolutions = clientIds.map(() => 0);
    const writes = clientIds.map((clientId, index) =>
      laptop
        .write('message:send', { conversationId, clientId, body: texts[index]! })
        .then((result) => {
          resolutions[index]!++;
          return result;
        }),
    );
    await waitUntil(async () => (await laptop.pendingWrites()) === 3, 'three writes are queued');
    // The app retries the first (same client id): it is the same write, with the same answer.
    const retried = laptop.write('message:send', {
      conversationId,
      clientId: 'offline-1',
      body: texts[0]!,
    });
    expect(await laptop.pendingWrites()).toBe(3);
    expect(await messageRows(conversationId, clientIds)).toEqual([]);

    // The network comes back: the queue goes out in order, each write is acknowledged once.
    network.restore();
    const results = await Promise.all(writes);
    expect(await retried).toEqual(results[0]);
    expect(results).toEqual([4, 5, 6].map((seq) => expect.objectContaining({ seq })));
    expect(results.every((result) => result.stream === scenario.stream)).toBe(true);
    expect(await laptop.pendingWrites()).toBe(0);
    expect(laptopEvents.written.items.map((event) => event.item.id)).toEqual(clientIds);
    expect(await messageRows(conversationId, clientIds)).toEqual(
      clientIds.map((clientId, index) => ({
        client_id: clientId,
        seq: 4 + index,
        body: texts[index],
      })),
    );

    // Bob sends one more: by the time every device has it, nothing of the queue came twice.
    const after = await send(others[1]!, conversationId, 'bob-after', 'Safe flight!');
    for (const device of others) {
      await device.expectReceivedOnce(scenario.stream, [4, 5, 6, 7]);
      expect(bodies(device.changes(scenario.stream).map(({ change }) => change))).toEqual([
        ...texts,
        'Safe flight!',
      ]);
    }
    // The laptop resumed its own subscription and got its messages back once, too.
    await chat.sees(after.seq);
    expect(chat.seqs()).toEqual([4, 5, 6, 7]);
    expect(chat.live.items.map((event) => event.outcome)).toEqual(['started', 'resumed']);
    expect(resolutions).toEqual([1, 1, 1]);
    expect(laptopEvents.rejected.items).toEqual([]);
  });

  it('keeps offline writes in a file: a new client on the same file sends them, exactly once', async () => {
    const scenario = await seed();
    const { aliceLaptop, bobPhone } = devices(scenario);
    const conversationId = scenario.conversation.id;
    const directory = await mkdtemp(join(tmpdir(), 'ccs-outbox-'));
    cleanups.push(() => rm(directory, { recursive: true, force: true }));
    const path = join(directory, 'outbox.json');
    const stored = async (): Promise<{ id: string; event: string }[]> =>
      JSON.parse(await readFile(path, 'utf8').catch(() => '[]')) as { id: string; event: string }[];
    const bob = await testClient(bobPhone.token, 'bob-phone');
    expect(await bob.emitWithAck('subscribe', { stream: scenario.stream })).toMatchObject({
      ok: true,
    });

    // A process that never gets online: its writes wait in the file, then it exits.
    const network = await networkLink();
    network.cut();
    const first = sdkClient({
      url: network.url,
      token: aliceLaptop.token,
      storage: new FileOutboxStorage(path),
    });
    const clientIds = ['file-1', 'file-2', 'file-3'];
    const writes = clientIds.map((clientId) =>
      settle(first.write('message:send', { conversationId, clientId, body: `kept ${clientId}` })),
    );
    await waitUntil(async () => (await stored()).length === 3, 'the file holds three writes');
    first.close();
    for (const outcome of await Promise.all(writes)) {
      expect(outcome.ok).toBe(false);
      expect((outcome as { error: unknown }).error).toMatchObject({ code: 'closed' });
      expect((outcome as { error: unknown }).error).toBeInstanceOf(ClientError);
    }
    expect((await stored()).map((item) => item.id)).toEqual(clientIds);
    expect(await messageRows(conversationId, clientIds)).toEqual([]);

    // The next run, online, with the same file: it sends what the last one left, in order.
    const second = sdkClient({
      url: server.url,
      token: aliceLaptop.token,
      storage: new FileOutboxStorage(path),
    });
    const events = recordClient(second);
    expect(await second.pendingWrites()).toBe(3);
    // The app, not knowing what was sent, writes the second one again: it gets the kept one's
    // answer, and nothing is sent twice.
    const again = second.write('message:send', {
      conversationId,
      clientId: 'file-2',
      body: 'kept file-2',
    });
    expect(await second.pendingWrites()).toBe(3);
    expect(await again).toMatchObject({ stream: scenario.stream, seq: 5 });
    await waitUntil(() => events.written.items.length === 3, 'the three kept writes are acked');
    expect(events.written.items.map(({ item, result }) => [item.id, result])).toEqual(
      clientIds.map((clientId, index) => [
        clientId,
        expect.objectContaining({ stream: scenario.stream, seq: 4 + index }),
      ]),
    );
    await waitUntil(async () => (await stored()).length === 0, 'the file is empty again');
    await bob.expectReceivedOnce(scenario.stream, [4, 5, 6]);
    expect(await messageRows(conversationId, clientIds)).toHaveLength(3);

    // A third run finds nothing left to send.
    const third = sdkClient({
      url: server.url,
      token: aliceLaptop.token,
      storage: new FileOutboxStorage(path),
    });
    expect(await third.pendingWrites()).toBe(0);
    const after = await send(bob, conversationId, 'bob-after', 'got all three');
    await bob.expectReceivedOnce(scenario.stream, [4, 5, 6, after.seq]);
    expect(events.written.items).toHaveLength(3);
  });

  it('resumes on another node after its node is killed with SIGKILL: no gap, no duplicate', async () => {
    const scenario = await seed();
    const { aliceLaptop, bobPhone } = devices(scenario);
    const conversationId = scenario.conversation.id;
    // Node A, which dies, and the file's server as node B; one address in front of them.
    const nodeA = await ownServer.startNode();
    const balancer = await networkLink(nodeA.url);
    const laptop = sdkClient({ url: balancer.url, token: aliceLaptop.token });
    const laptopEvents = recordClient(laptop);
    // From the stream's start: seqs 1..3 are replayed, then live.
    const chat = recordSubscription(laptop.subscribe(scenario.stream, { since: 0 }));
    expect(await chat.subscription.ready).toEqual({ head: 3 });
    const bob = await testClient(bobPhone.token, 'bob-on-b');

    const before = [
      await send(bob, conversationId, 'before-1', 'one'),
      await send(bob, conversationId, 'before-2', 'two'),
    ];
    await chat.sees(before[1]!.seq);
    const killedAt = laptopEvents.states.items.length;
    await nodeA.kill('SIGKILL');
    await laptopEvents.states.waitFor((event) => event.state === 'disconnected', {
      from: killedAt,
    });

    // While the laptop has no node: writes through node B, one straight into PostgreSQL, and
    // one the laptop's app makes itself.
    await send(bob, conversationId, 'during-1', 'three');
    await send(bob, conversationId, 'during-2', 'four');
    await database.pool.query(
      `INSERT INTO messages (conversation_id, author_id, device_id, client_id, body)
       VALUES ($1, $2, $3, 'sql-1', 'five, from SQL')`,
      [conversationId, bobPhone.userId, bobPhone.id],
    );
    const own = laptop.write('message:send', { conversationId, clientId: 'own-1', body: 'six' });

    // The load balancer now sends the laptop to node B.
    balancer.retarget(server.url);
    const resumed = await chat.live.waitFor((event) => event.outcome === 'resumed');
    expect(resumed.since).toBe(before[1]!.seq);
    const ownResult = await own;
    const after = await send(bob, conversationId, 'after-1', 'seven');
    expect(after.seq).toBe(ownResult.seq + 1);
    await chat.sees(after.seq);
    expect(chat.seqs()).toEqual(seqRange(1, after.seq));
    expect(bodies(chat.changes.items)).toEqual([
      'one',
      'two',
      'three',
      'four',
      'five, from SQL',
      'six',
      'seven',
    ]);
    expect(chat.live.items.map((event) => event.outcome)).toEqual(['started', 'resumed']);
    expect(laptop.state).toBe('connected');
    expect(chat.subscription.lastSeq).toBe(after.seq);
    expect(chat.subscription.lagMs).toBeGreaterThanOrEqual(0);
  });

  it('drops a frame delivered twice and repairs a lost one: every seq once, in order', async () => {
    const scenario = await seed();
    const { aliceLaptop, bobPhone } = devices(scenario);
    const conversationId = scenario.conversation.id;
    // Long-polling through a proxy that can lose one packet on its way to the laptop.
    const proxy = await PollingProxy.open(server.url);
    cleanups.push(() => proxy.close());
    const laptop = sdkClient({ url: proxy.url, token: aliceLaptop.token, transports: ['polling'] });
    const chat = recordSubscription(laptop.subscribe(scenario.stream));
    const { head } = await chat.subscription.ready;
    const bob = await testClient(bobPhone.token, 'bob-phone');
    const isChangesFrame = (packet: string): boolean =>
      packet.startsWith('42["changes"') && packet.includes(scenario.stream);

    // A frame arrives twice: the app gets its change once.
    const repeated = proxy.duplicateNext(isChangesFrame);
    const twice = await send(bob, conversationId, 'twice', 'this frame comes twice');
    await repeated;
    await chat.sees(twice.seq);
    const lost = proxy.dropNext(isChangesFrame);
    const first = await send(bob, conversationId, 'lost-1', 'this frame gets lost');
    const dropped = await lost;
    const droppedFrame = (JSON.parse(dropped.slice(2)) as [string, ChangeEvent[]])[1];
    expect(droppedFrame.map((change) => change.seq)).toEqual([first.seq]);
    expect(chat.subscription.lastSeq).toBe(twice.seq);

    // The next frame arrives after a gap: the client replays from what it has.
    const second = await send(bob, conversationId, 'lost-2', 'this one shows the gap');
    const repaired = await chat.live.waitFor((event) => event.outcome === 'repaired');
    expect(repaired.since).toBe(twice.seq);
    await chat.sees(second.seq);
    const third = await send(bob, conversationId, 'lost-3', 'and live again');
    await chat.sees(third.seq);
    expect(chat.seqs()).toEqual(seqRange(head + 1, third.seq));
    expect(bodies(chat.changes.items)).toEqual([
      'this frame comes twice',
      'this frame gets lost',
      'this one shows the gap',
      'and live again',
    ]);
    expect(chat.live.items.map((event) => event.outcome)).toEqual(['started', 'repaired']);
  });

  it('sends a write again when its ack is lost: one row, one answer', async () => {
    const scenario = await seed();
    const { aliceLaptop, bobPhone } = devices(scenario);
    const conversationId = scenario.conversation.id;
    const proxy = await PollingProxy.open(server.url);
    cleanups.push(() => proxy.close());
    const laptop = sdkClient({
      url: proxy.url,
      token: aliceLaptop.token,
      transports: ['polling'],
      ackTimeoutMs: 1000,
    });
    const laptopEvents = recordClient(laptop);
    await laptop.connected();
    const bob = await testClient(bobPhone.token, 'bob-phone');
    expect(await bob.emitWithAck('subscribe', { stream: scenario.stream })).toMatchObject({
      ok: true,
    });

    // The server commits the message; its ack never reaches the laptop.
    const lostAck = proxy.dropNext(
      (packet) => packet.startsWith('43') && packet.includes(`"stream":"${scenario.stream}"`),
    );
    let answers = 0;
    const write = laptop
      .write('message:send', { conversationId, clientId: 'ack-lost', body: 'sent once' })
      .then((result) => {
        answers++;
        return result;
      });
    const dropped = await lostAck;
    const result = await write;
    expect(dropped).toContain(`"seq":${result.seq}`);
    expect(answers).toBe(1);
    expect(laptopEvents.written.items.map(({ item }) => item.id)).toEqual(['ack-lost']);
    expect(await messageRows(conversationId, ['ack-lost'])).toEqual([
      { client_id: 'ack-lost', seq: result.seq, body: 'sent once' },
    ]);
    const after = await send(bob, conversationId, 'bob-after', 'one is enough');
    await bob.expectReceivedOnce(scenario.stream, [result.seq, after.seq]);
  });

  it('refreshes an expired token and loses no change, written or received', async () => {
    const scenario = await seed();
    const { aliceLaptop, bobPhone } = devices(scenario);
    const conversationId = scenario.conversation.id;
    // The first token lives 2 s. The second is asked for while the token service is slow (the
    // test lets it answer) and comes back already expired; the third is good.
    const tokenServiceAnswers = deferred();
    const tokens: string[] = [];
    const getToken = async (): Promise<string> => {
      tokens.push(`token ${tokens.length + 1}`);
      if (tokens.length === 1) return devToken(aliceLaptop, '2s');
      if (tokens.length === 2) {
        await tokenServiceAnswers.promise;
        return signDeviceToken(
          { userId: aliceLaptop.userId, deviceId: aliceLaptop.id },
          { secret: jwtSecret, expiresIn: '10s ago' },
        );
      }
      return devToken(aliceLaptop, '1h');
    };
    const laptop = sdkClient({ url: server.url, getToken });
    const laptopEvents = recordClient(laptop);
    const chat = recordSubscription(laptop.subscribe(scenario.stream));
    const { head } = await chat.subscription.ready;
    const bob = await testClient(bobPhone.token, 'bob-phone');
    expect(await bob.emitWithAck('subscribe', { stream: scenario.stream })).toMatchObject({
      ok: true,
    });
    const before = await send(bob, conversationId, 'before', 'before the token expires');
    await chat.sees(before.seq);

    // The server ends the session when the token expires.
    await laptopEvents.states.waitFor(
      (event) => event.state === 'disconnected' && event.reason === 'token_expired',
      { timeoutMs: 5000 },
    );
    // While the laptop waits for a token: Bob writes, and so does the laptop's app.
    const during = [
      await send(bob, conversationId, 'during-1', 'while the token is refreshed'),
      await send(bob, conversationId, 'during-2', 'still refreshing'),
    ];
    const own = laptop.write('message:send', {
      conversationId,
      clientId: 'laptop-during',
      body: 'written with an expired token',
    });
    expect(laptop.state).not.toBe('connected');
    tokenServiceAnswers.resolve();

    const resumed = await chat.live.waitFor((event) => event.outcome === 'resumed');
    expect(resumed.since).toBe(before.seq);
    const ownResult = await own;
    expect(ownResult.seq).toBe(during[1]!.seq + 1);
    const after = await send(bob, conversationId, 'after', 'after the refresh');
    await chat.sees(after.seq);
    expect(chat.seqs()).toEqual(seqRange(head + 1, after.seq));
    await bob.expectReceivedOnce(scenario.stream, seqRange(head + 1, after.seq));
    expect(await messageRows(conversationId, ['laptop-during'])).toHaveLength(1);

    // Three tokens: the expired session's, the one the handshake refused, the good one. The
    // dead session's token was never presented again: one refusal, of the second token.
    expect(tokens).toHaveLength(3);
    const refusals = laptopEvents.states.items.filter(
      (event) => event.state === 'disconnected' && event.reason === 'refused',
    );
    expect(refusals).toEqual([
      expect.objectContaining({ error: expect.objectContaining({ code: 'unauthorized' }) }),
    ]);
    expect(laptopEvents.states.items.map(({ state, reason }) => `${state}: ${reason}`)).toEqual([
      'connected: connected',
      'disconnected: token_expired',
      'connecting: token_expired',
      'disconnected: refused',
      'connecting: refused',
      'connected: token_refreshed',
    ]);
    expect(laptop.state).toBe('connected');
  });

  it('reports a refused queued write on its own and sends the ones behind it', async () => {
    const scenario = await seed();
    const { aliceLaptop, bobPhone } = devices(scenario);
    const conversationId = scenario.conversation.id;
    const bob = await testClient(bobPhone.token, 'bob-phone');
    expect(await bob.emitWithAck('subscribe', { stream: scenario.stream })).toMatchObject({
      ok: true,
    });
    const bobsMessage = await send(bob, conversationId, 'bob-1', "Bob's words");
    const network = await networkLink();
    const laptop = sdkClient({ url: network.url, token: aliceLaptop.token });
    const laptopEvents = recordClient(laptop);

    // A workspace with a file at version 2.
    const files = await laptop.write('workspace:create', { clientId: 'ws-1', name: 'Trip files' });
    const encode = (text: string): Uint8Array => new TextEncoder().encode(text);
    const v1 = await laptop.uploadContent(files.id, encode('plan v1'));
    const v2 = await laptop.uploadContent(files.id, encode('plan v2'));
    const stale = await laptop.uploadContent(files.id, encode('plan edited on an old copy'));
    const created = await laptop.write('file:push', {
      op: 'create',
      workspaceId: files.id,
      path: 'plan.md',
      contentHash: v1.hash,
    });
    const updated = await laptop.write('file:push', {
      op: 'update',
      workspaceId: files.id,
      fileId: created.file.id,
      baseVersion: 1,
      contentHash: v2.hash,
    });
    expect(updated.file.version).toBe(2);

    // Offline, the app queues five writes; two of them cannot succeed.
    const offlineAt = laptopEvents.states.items.length;
    network.cut();
    await laptopEvents.states.waitFor((event) => event.state === 'disconnected', {
      from: offlineAt,
    });
    const writtenBefore = laptopEvents.written.items.length;
    const sendA = settle(
      laptop.write('message:send', { conversationId, clientId: 'queued-a', body: 'A' }),
    );
    const editBobs = settle(
      laptop.write('message:edit', { messageId: bobsMessage.id, body: 'not yours to edit' }),
    );
    const sendB = settle(
      laptop.write('message:send', { conversationId, clientId: 'queued-b', body: 'B' }),
    );
    const stalePush = settle(
      laptop.write('file:push', {
        op: 'update',
        workspaceId: files.id,
        fileId: created.file.id,
        baseVersion: 1,
        contentHash: stale.hash,
      }),
    );
    const sendC = settle(
      laptop.write('message:send', { conversationId, clientId: 'queued-c', body: 'C' }),
    );
    await waitUntil(async () => (await laptop.pendingWrites()) === 5, 'five writes are queued');
    network.restore();

    const [a, edit, b, push, c] = await Promise.all([sendA, editBobs, sendB, stalePush, sendC]);
    expect([a, b, c].map((outcome) => outcome.ok)).toEqual([true, true, true]);
    const seqs = [a, b, c].map((outcome) => (outcome as { value: MessageSendResult }).value.seq);
    expect(seqs).toEqual([bobsMessage.seq + 1, bobsMessage.seq + 2, bobsMessage.seq + 3]);
    expect(edit).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect((edit as { error: unknown }).error).toBeInstanceOf(ClientError);
    expect(push).toMatchObject({
      ok: false,
      error: {
        code: 'conflict',
        current: { fileId: created.file.id, version: 2, contentHash: v2.hash, deleted: false },
      },
    });
    expect((push as { error: unknown }).error).toBeInstanceOf(ClientError);

    // Each refusal reported once, each success once, in the order written.
    expect(laptopEvents.rejected.items.map(({ item, error }) => [item.event, error.code])).toEqual([
      ['message:edit', 'forbidden'],
      ['file:push', 'conflict'],
    ]);
    expect(laptopEvents.written.items.slice(writtenBefore).map(({ item }) => item.event)).toEqual([
      'message:send',
      'message:send',
      'message:send',
    ]);
    await bob.expectReceivedOnce(scenario.stream, [bobsMessage.seq, ...seqs]);
    expect(bodies(bob.changes(scenario.stream).map(({ change }) => change)).slice(-3)).toEqual([
      'A',
      'B',
      'C',
    ]);
    const snapshot = await laptop.snapshot<ConversationSnapshot>(scenario.stream);
    expect(snapshot.messages.find((message) => message.id === bobsMessage.id)?.body).toBe(
      "Bob's words",
    );
    const workspace = await laptop.snapshot<WorkspaceSnapshot>(files.stream);
    expect(workspace.files).toEqual([
      expect.objectContaining({ id: created.file.id, version: 2, contentHash: v2.hash }),
    ]);
    expect(await laptop.pendingWrites()).toBe(0);
  });

  it('answers resync_required with a snapshot and goes on live from its seq', async () => {
    const scenario = await seed();
    const { aliceLaptop, bobPhone } = devices(scenario);
    const conversationId = scenario.conversation.id;
    const bob = await testClient(bobPhone.token, 'bob-phone');
    for (let index = 1; index <= 5; index++) {
      await send(bob, conversationId, `old-${index}`, `old ${index}`);
    }
    // Retention removed the stream's changes up to seq 6 (as its job would, for this stream).
    await database.pool.query(`DELETE FROM change_log WHERE stream = $1 AND seq <= 6`, [
      scenario.stream,
    ]);
    await database.pool.query(
      `UPDATE stream_heads SET trimmed_to = greatest(trimmed_to, 6) WHERE stream = $1`,
      [scenario.stream],
    );

    // The laptop was away since seq 2: older than what is kept.
    const laptop = sdkClient({ url: server.url, token: aliceLaptop.token });
    const chat = recordSubscription(laptop.subscribe(scenario.stream, { since: 2 }));
    expect(await chat.subscription.ready).toEqual({ head: 8 });
    expect(chat.resync.items).toHaveLength(1);
    const [resync] = chat.resync.items;
    expect(resync!.reason).toBe('since_before_retention');
    const snapshot = resync!.snapshot as ConversationSnapshot;
    expect(snapshot.seq).toBe(8);
    expect(snapshot.messages.map((message) => message.body)).toEqual([
      'old 1',
      'old 2',
      'old 3',
      'old 4',
      'old 5',
    ]);
    expect(chat.live.items).toEqual([{ head: 8, since: 8, outcome: 'resynced' }]);
    expect(chat.seqs()).toEqual([]);

    const next = await send(bob, conversationId, 'new-1', 'after the resync');
    await chat.sees(next.seq);
    expect(chat.seqs()).toEqual([9]);
  });

  it('subscribes again when a resubscribe is refused with rate_limited: every stream ends live', async () => {
    // A node that serves 2 events of a socket per turn: a reconnect resubscribing 6 streams at
    // once is refused for most of them, as a device with many streams is by the default 32.
    const tight = await startOwnServer('sdk-tight', { CCS_EVENTS_PER_BATCH: '2' });
    cleanups.push(() => tight.close());
    const scenarios = await Promise.all(
      Array.from({ length: 6 }, () =>
        seedConversationScenario(tight.database.db, { jwtSecret: tight.jwtSecret }),
      ),
    );
    // One user in all six: its laptop follows them all.
    const laptopToken = scenarios[0]!.users[0]!.devices[0]!.token;
    const userId = scenarios[0]!.users[0]!.user.id;
    for (const scenario of scenarios.slice(1)) {
      await tight.database.pool.query(
        'INSERT INTO conversation_members (conversation_id, user_id) VALUES ($1, $2)',
        [scenario.conversation.id, userId],
      );
    }
    const laptop = sdkClient({ url: tight.server.url, token: laptopToken });
    const chats = scenarios.map((scenario) =>
      recordSubscription(laptop.subscribe(scenario.stream)),
    );
    await Promise.all(chats.map((chat) => chat.subscription.ready));
    for (const chat of chats) expect(chat.live.items.at(-1)?.outcome).toBe('started');
    // A message in each stream reaches the laptop: none of them stayed silent.
    for (const [index, scenario] of scenarios.entries()) {
      const bob = await TestClient.connect({
        url: tight.server.url,
        token: scenario.users[1]!.devices[0]!.token,
        name: `bob-${index}`,
      });
      cleanups.push(() => bob.close());
      const sent = await send(bob, scenario.conversation.id, `m-${index}`, `hello ${index}`);
      await chats[index]!.sees(sent.seq);
    }
  });

  it('ends every subscription and pending write when the device is revoked', async () => {
    const scenario = await seed();
    const { aliceLaptop } = devices(scenario);
    const laptop = sdkClient({ url: server.url, token: aliceLaptop.token });
    const record = recordClient(laptop);
    const chat = recordSubscription(laptop.subscribe(scenario.stream));
    await chat.subscription.ready;
    const iteration = (async () => {
      const seen: number[] = [];
      for await (const change of chat.subscription) seen.push(change.seq);
      return seen;
    })();
    await database.pool.query('UPDATE devices SET revoked_at = now() WHERE id = $1', [
      aliceLaptop.id,
    ]);
    await waitUntil(() => laptop.state === 'closed', 'the client closes');
    expect(record.states.items.at(-1)).toMatchObject({ state: 'closed', reason: 'device_revoked' });
    expect(chat.ended.items).toHaveLength(1);
    expect(await iteration).toEqual([]);
    await expect(laptop.connected()).rejects.toMatchObject({ code: 'closed' });
    await expect(
      laptop.write('message:send', {
        conversationId: scenario.conversation.id,
        clientId: 'after-revocation',
        body: 'never sent',
      }),
    ).rejects.toMatchObject({ code: 'closed' });
  });

  it('rejects a write made just before close instead of leaving it unanswered', async () => {
    const scenario = await seed();
    const { aliceLaptop } = devices(scenario);
    const laptop = createClient({ url: server.url, token: aliceLaptop.token });
    const write = settle(
      laptop.write('message:send', {
        conversationId: scenario.conversation.id,
        clientId: 'raced-close',
        body: 'x',
      }),
    );
    laptop.close();
    const outcome = await write;
    expect(outcome.ok).toBe(false);
    expect(outcome.ok ? undefined : outcome.error).toMatchObject({ code: 'closed' });
  });

  it('iterates a stream, shows presence and typing, and reads and writes over REST', async () => {
    const scenario = await seed();
    const { aliceLaptop, alicePhone, bobPhone } = devices(scenario);
    const conversationId = scenario.conversation.id;
    const laptop = sdkClient({ url: server.url, token: aliceLaptop.token });
    const phone = sdkClient({ url: server.url, token: alicePhone.token });
    const bob = sdkClient({ url: server.url, token: bobPhone.token });
    const laptopEvents = recordClient(laptop);

    // The phone's app reads the conversation as an async iterator (and listens to it as well);
    // it is busy with the first change while the next two arrive.
    const phoneChat = recordSubscription(phone.subscribe(scenario.stream));
    expect(await phoneChat.subscription.ready).toEqual({ head: 3 });
    const appBusy = deferred();
    const iterated = (async () => {
      const received: ChangeEvent[] = [];
      for await (const change of phoneChat.subscription) {
        received.push(change);
        if (received.length === 1) await appBusy.promise;
        if (received.length === 3) break;
      }
      return received;
    })();

    // Presence and typing through the client.
    const laptopChat = recordSubscription(laptop.subscribe(scenario.stream));
    await laptopChat.subscription.ready;
    const bobChat = recordSubscription(bob.subscribe(scenario.stream));
    await bobChat.subscription.ready;
    await laptopEvents.presence.waitFor(
      (event) => event.deviceId === bobPhone.id && event.state === 'online',
    );
    const members = await laptop.presence(scenario.stream);
    expect(members.map((member) => member.deviceId)).toEqual(
      expect.arrayContaining([aliceLaptop.id, alicePhone.id, bobPhone.id]),
    );
    expect(await bob.typing(conversationId, true)).toBe(true);
    const typing = await laptopEvents.typing.waitFor((event) => event.deviceId === bobPhone.id);
    expect(typing).toMatchObject({
      stream: scenario.stream,
      userId: bobPhone.userId,
      typing: true,
    });

    // Three messages: the iterator gets each once, in order, then stops the subscription.
    const texts = ['one', 'two', 'three'];
    for (const [index, body] of texts.entries()) {
      await bob.write('message:send', { conversationId, clientId: `iter-${index}`, body });
    }
    await phoneChat.sees(6);
    appBusy.resolve();
    const received = await iterated;
    expect(received.map((change) => change.seq)).toEqual([4, 5, 6]);
    expect(bodies(received)).toEqual(texts);
    // Leaving the loop closed the subscription.
    expect(phoneChat.ended.items).toEqual([
      { reason: 'closed', message: 'the subscription was closed' },
    ]);
    await laptopChat.sees(6);
    expect(laptopChat.seqs()).toEqual([4, 5, 6]);
    expect(laptopChat.subscription.lagMs).toBeGreaterThanOrEqual(0);
    expect(laptopChat.subscription.lagMs).toBeLessThan(10_000);

    // REST reads and file contents with the client's token.
    const page = await laptop.history(conversationId, { limit: 2 });
    expect(page.messages.map((message) => message.body)).toEqual(['three', 'two']);
    expect(page.nextBefore).toBe(5);
    const older = await laptop.history(conversationId, { before: page.nextBefore!, limit: 2 });
    expect(older.messages.map((message) => message.body)).toEqual(['one']);
    const snapshot = await laptop.snapshot<ConversationSnapshot>(scenario.stream, { messages: 2 });
    expect(snapshot.seq).toBe(6);
    expect(snapshot.messages.map((message) => message.body)).toEqual(['two', 'three']);
    const files = await laptop.write('workspace:create', { clientId: 'ws-rest', name: 'Docs' });
    const content = new TextEncoder().encode('# Notes\nsynced through the SDK\n');
    const uploaded = await laptop.uploadContent(files.id, content);
    expect(uploaded.sizeBytes).toBe(content.length);
    const notes = await laptop.write('file:push', {
      op: 'create',
      workspaceId: files.id,
      path: 'notes.md',
      contentHash: uploaded.hash,
    });
    expect(notes.file).toMatchObject({ path: 'notes.md', version: 1, contentHash: uploaded.hash });
    expect(await laptop.downloadContent(files.id, uploaded.hash)).toEqual(content);
    await expect(bob.downloadContent(files.id, uploaded.hash)).rejects.toMatchObject({
      code: 'forbidden',
    });
  });
  it('tells the server the last seq it holds, at most every receivedReportMs', async () => {
    const scenario = await seed();
    const { aliceLaptop, bobPhone } = devices(scenario);
    const acks = () => deviceAcksOf(server.url);
    const before = await acks();
    const laptop = sdkClient({ url: server.url, token: aliceLaptop.token, receivedReportMs: 200 });
    const chat = recordSubscription(laptop.subscribe(scenario.stream));
    await chat.subscription.ready;
    const bob = await testClient(bobPhone.token, 'bob');
    const started = Date.now();
    const sent: number[] = [];
    for (let i = 0; i < 20; i++) {
      sent.push((await send(bob, scenario.conversation.id, `report-${i}`, `m${i}`)).seq);
    }
    await chat.sees(sent.at(-1)!);
    const elapsed = Date.now() - started;
    // The last report names the last seq; there were no more reports than the interval allows.
    await expect.poll(acks, { timeout: 5000, interval: 50 }).toBeGreaterThan(before);
    await expect
      .poll(async () => (await acks()) - before, { timeout: 5000, interval: 50 })
      .toBeLessThanOrEqual(2 + Math.ceil(elapsed / 200));
  });

  it('reports as often as the server asks in its subscribe answers (CCS_DEVICE_REPORT_MS)', async () => {
    // The default is every 5 s: a node that asks for every 200 ms gets each change's report
    // well within a second, from a client that was not told any interval of its own.
    const asking = await startOwnServer('sdk-reports', { CCS_DEVICE_REPORT_MS: '200' });
    cleanups.push(() => asking.close());
    const scenario = await seedConversationScenario(asking.database.db, {
      jwtSecret: asking.jwtSecret,
      userNames: ['alice', 'bob'],
    });
    const { aliceLaptop, bobPhone } = devices(scenario);
    const laptop = sdkClient({ url: asking.server.url, token: aliceLaptop.token });
    const chat = recordSubscription(laptop.subscribe(scenario.stream));
    await chat.subscription.ready;
    const bob = await testClient(bobPhone.token, 'bob', asking.server.url);
    const acks = () => deviceAcksOf(asking.server.url);
    for (let i = 1; i <= 3; i++) {
      const { seq } = await send(bob, scenario.conversation.id, `asked-${i}`, `m${i}`);
      await chat.sees(seq);
      await expect.poll(acks, { timeout: 1500, interval: 25 }).toBe(i);
    }
  });
});
