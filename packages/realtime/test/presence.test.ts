import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { seedConversationScenario, type ConversationScenario } from '@ccs/fixtures';
import { MAX_FRAME_BYTES, streamName, type PresenceMember, type StreamName } from '@ccs/protocol';
import { nthPresence, presenceMembers, presenceOf, TestClient } from '@ccs/test-clients';
import { test as base, type RedisNamespace, type TestDatabase } from '@ccs/test-env/vitest';
import { Server } from 'socket.io';
import { describe, expect } from 'vitest';
import type { GatewayLimits } from '../src/gateway-limits.js';
import type { GatewayServer } from '../src/gateway-socket.js';
import { startGateway } from '../src/gateway.js';
import { presenceEntry, RedisPresenceStore } from '../src/presence-store.js';
import { devicesOf } from './gateway-fixtures.js';
import { jwtSecret, startGatewayHarness } from './gateway-harness.js';

/** The key prefix (under the test's Redis namespace) of the gateways these tests start. */
const PREFIX = 'presence-test';

/** A gateway whose presence lives in the test's Redis namespace. */
interface PresenceNode {
  readonly url: string;
  /** Connects a client (closed with the node). */
  connect(token: string, name?: string): Promise<TestClient>;
  close(): Promise<void>;
}

async function startPresenceNode(
  database: TestDatabase,
  redisNamespace: RedisNamespace,
  limits?: GatewayLimits,
): Promise<PresenceNode> {
  const http = createServer();
  const io: GatewayServer = new Server(http, { maxHttpBufferSize: MAX_FRAME_BYTES });
  const gateway = await startGateway({
    io,
    db: database.db,
    jwtSecret,
    presence: { redis: redisNamespace.redis, prefix: PREFIX },
    ...(limits ? { limits } : {}),
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  const clients: TestClient[] = [];
  return {
    url,
    async connect(token, name) {
      const client = new TestClient({ url, token, ...(name ? { name } : {}) });
      clients.push(client);
      await client.open();
      return client;
    },
    async close() {
      for (const client of clients) client.close();
      await io.close();
      await gateway.close();
    },
  };
}

/** `test` with `startNode(limits?)` (a gateway with Redis presence, closed after the test). */
const test = base
  .extend('startNode', async ({ database, redisNamespace }, { onCleanup }) => {
    const nodes: PresenceNode[] = [];
    onCleanup(async () => {
      await Promise.all(nodes.map((node) => node.close()));
    });
    return async (limits?: GatewayLimits): Promise<PresenceNode> => {
      const node = await startPresenceNode(database, redisNamespace, limits);
      nodes.push(node);
      return node;
    };
  })
  .extend('scenario', async ({ database }): Promise<ConversationScenario> =>
    seedConversationScenario(database.db, { jwtSecret }),
  );

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Lists `stream` until `done(members)` holds (within 5 s), waiting as told when the client's
 * ephemeral budget is spent.
 */
async function listUntil(
  client: TestClient,
  stream: StreamName,
  done: (members: readonly PresenceMember[]) => boolean,
): Promise<PresenceMember[]> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const ack = await client.emitWithAck('presence:list', { stream });
    if (ack.ok && done(ack.members)) return [...ack.members];
    if (!ack.ok && ack.error.code !== 'rate_limited') throw new Error(ack.error.message);
    if (Date.now() > deadline) throw new Error(`presence of ${stream} never settled`);
    await pause(ack.ok ? 20 : (ack.error.retryAfterMs ?? 100));
  }
}

describe('presence in a stream', () => {
  test('a device goes online when it subscribes, offline when it unsubscribes or disconnects', async ({
    startNode,
    scenario,
  }) => {
    const node = await startNode();
    const { aliceLaptop, bobPhone } = devicesOf(scenario);
    const bob = await node.connect(bobPhone.token);
    await bob.subscribe(scenario.stream);
    const laptop = await node.connect(aliceLaptop.token);

    await laptop.subscribe(scenario.stream);
    const expected = {
      stream: scenario.stream,
      userId: aliceLaptop.userId,
      deviceId: aliceLaptop.id,
    };
    expect(await nthPresence(bob, aliceLaptop.id, 0)).toEqual({ ...expected, state: 'online' });
    // The subscriber is in the room too: it hears of itself.
    expect(await nthPresence(laptop, aliceLaptop.id, 0)).toEqual({ ...expected, state: 'online' });

    expect(await laptop.emitWithAck('unsubscribe', { stream: scenario.stream })).toEqual({
      ok: true,
    });
    expect(await nthPresence(bob, aliceLaptop.id, 1)).toEqual({ ...expected, state: 'offline' });

    await laptop.subscribe(scenario.stream);
    expect(await nthPresence(bob, aliceLaptop.id, 2)).toEqual({ ...expected, state: 'online' });
    laptop.disconnect();
    expect(await nthPresence(bob, aliceLaptop.id, 3)).toEqual({ ...expected, state: 'offline' });
    expect(await presenceMembers(bob, scenario.stream)).toEqual([
      { userId: bobPhone.userId, deviceId: bobPhone.id, since: expect.any(String) },
    ]);
  });

  test('a room larger than presencePushMaxMembers gets no presence pushes; presence:list still answers', async ({
    startNode,
    scenario,
  }) => {
    const node = await startNode({ presencePushMaxMembers: 2 });
    const { aliceLaptop, alicePhone, bobPhone } = devicesOf(scenario);
    const bob = await node.connect(bobPhone.token, 'bob');
    await bob.subscribe(scenario.stream);
    const laptop = await node.connect(aliceLaptop.token, 'laptop');
    await laptop.subscribe(scenario.stream);
    // Two sockets in the room: within the limit, pushed.
    expect(await nthPresence(bob, aliceLaptop.id, 0)).toMatchObject({ state: 'online' });

    const phone = await node.connect(alicePhone.token, 'phone');
    await phone.subscribe(scenario.stream);
    // Once the list shows the phone, its change was announced (the same turn); anything pushed
    // to bob then reached him before the answer to his own list.
    await listUntil(bob, scenario.stream, (members) =>
      members.some((member) => member.deviceId === alicePhone.id),
    );
    expect(presenceOf(bob, alicePhone.id)).toEqual([]);
    expect(presenceOf(laptop, alicePhone.id)).toEqual([]);
  });

  test('two devices of one user are two members; a device with sockets on two gateways is one, online until its last socket leaves', async ({
    startNode,
    scenario,
  }) => {
    const [nodeA, nodeB] = [await startNode(), await startNode()];
    const { aliceLaptop, alicePhone, bobPhone } = devicesOf(scenario);
    const bob = await nodeA.connect(bobPhone.token, 'bob');
    await bob.subscribe(scenario.stream);
    const before = Date.now();
    // The laptop's sockets are on two gateways sharing the Redis presence.
    const laptopA = await nodeA.connect(aliceLaptop.token, 'laptop@A');
    await laptopA.subscribe(scenario.stream);
    await nthPresence(bob, aliceLaptop.id, 0);
    const laptopB = await nodeB.connect(aliceLaptop.token, 'laptop@B');
    await laptopB.subscribe(scenario.stream);
    const phone = await nodeB.connect(alicePhone.token, 'phone@B');
    await phone.subscribe(scenario.stream);

    const members = await presenceMembers(bob, scenario.stream);
    expect(members.map((member) => member.deviceId).sort()).toEqual(
      [aliceLaptop.id, alicePhone.id, bobPhone.id].sort(),
    );
    const laptopSince = members.find((member) => member.deviceId === aliceLaptop.id)!.since;
    expect(Date.parse(laptopSince)).toBeGreaterThanOrEqual(before);
    // The phone's list, through the other gateway, is the same.
    expect(await presenceMembers(phone, scenario.stream)).toEqual(members);

    // The laptop keeps a socket subscribed on B: still online, now since that socket's subscribe.
    laptopA.disconnect();
    const afterA = await listUntil(
      bob,
      scenario.stream,
      (now) => now.find((member) => member.deviceId === aliceLaptop.id)?.since !== laptopSince,
    );
    expect(afterA.map((member) => member.deviceId).sort()).toEqual(
      [aliceLaptop.id, alicePhone.id, bobPhone.id].sort(),
    );
    expect(presenceOf(bob, aliceLaptop.id).map((event) => event.state)).toEqual(['online']);
    // Its last socket gone, B announces it (these two gateways share no socket.io adapter, so
    // only B's room hears it; sync-server's test crosses nodes).
    laptopB.disconnect();
    expect(await nthPresence(phone, aliceLaptop.id, 0)).toMatchObject({ state: 'offline' });
    expect(
      (await presenceMembers(bob, scenario.stream)).map((member) => member.deviceId).sort(),
    ).toEqual([alicePhone.id, bobPhone.id].sort());
    expect(presenceOf(phone, aliceLaptop.id)).toHaveLength(1);
  });

  test('works for any stream the socket may subscribe to: the devices of a user on its own stream', async ({
    startNode,
    scenario,
  }) => {
    const node = await startNode();
    const { aliceLaptop, alicePhone } = devicesOf(scenario);
    const own = streamName('user', aliceLaptop.userId);
    const laptop = await node.connect(aliceLaptop.token);
    await laptop.subscribe(own);
    const phone = await node.connect(alicePhone.token);
    await phone.subscribe(own);
    expect(await nthPresence(laptop, alicePhone.id, 0)).toEqual({
      stream: own,
      userId: alicePhone.userId,
      deviceId: alicePhone.id,
      state: 'online',
    });
    expect((await presenceMembers(laptop, own)).map((member) => member.deviceId)).toEqual([
      aliceLaptop.id,
      alicePhone.id,
    ]);
  });

  test('presence:list is forbidden for a stream the socket is not subscribed to', async ({
    startNode,
    scenario,
  }) => {
    const node = await startNode();
    const { bobPhone } = devicesOf(scenario);
    const bob = await node.connect(bobPhone.token);
    const ack = await bob.emitWithAck('presence:list', { stream: scenario.stream });
    expect(ack).toEqual({
      ok: false,
      error: { code: 'forbidden', message: expect.stringContaining('subscribe to') },
    });
    await bob.subscribe(scenario.stream);
    await bob.emitWithAck('unsubscribe', { stream: scenario.stream });
    expect(await bob.emitWithAck('presence:list', { stream: scenario.stream })).toMatchObject({
      ok: false,
      error: { code: 'forbidden' },
    });
    expect(
      await bob.emitWithAck('presence:list', { stream: 'conversation:not-a-uuid' as StreamName }),
    ).toMatchObject({ ok: false, error: { code: 'invalid_payload' } });
  });

  test('a member removed in SQL goes offline for the others', async ({
    startNode,
    scenario,
    database,
  }) => {
    const node = await startNode();
    const { aliceLaptop, bobPhone } = devicesOf(scenario);
    const [alice, bob] = [
      await node.connect(aliceLaptop.token),
      await node.connect(bobPhone.token),
    ];
    await alice.subscribe(scenario.stream);
    await bob.subscribe(scenario.stream);
    await nthPresence(alice, bobPhone.id, 0);
    await database.pool.query(
      'DELETE FROM conversation_members WHERE conversation_id = $1 AND user_id = $2',
      [scenario.conversation.id, bobPhone.userId],
    );
    await bob.waitFor('unsubscribed');
    expect(await nthPresence(alice, bobPhone.id, 1)).toMatchObject({ state: 'offline' });
    expect(
      (await presenceMembers(alice, scenario.stream)).map((member) => member.deviceId),
    ).toEqual([aliceLaptop.id]);
  });

  test('the devices of a node that stops heartbeating go offline once its entries expire', async ({
    startNode,
    scenario,
    redisNamespace,
  }) => {
    const node = await startNode();
    const { alicePhone, bobPhone } = devicesOf(scenario);
    const bob = await node.connect(bobPhone.token);
    await bob.subscribe(scenario.stream);
    // Another node wrote the phone's entry once, then died: nobody renews it.
    const ttlMs = 600;
    const deadNode = new RedisPresenceStore({
      redis: redisNamespace.redis,
      prefix: PREFIX,
      heartbeatMs: ttlMs / 2,
      ttlMs,
    });
    const written = Date.now();
    expect(
      await deadNode.renew(scenario.stream, [
        presenceEntry({ userId: alicePhone.userId, deviceId: alicePhone.id }, 'dead-node', written),
      ]),
    ).toEqual([`${alicePhone.userId}/${alicePhone.id}`]);
    expect(
      (await presenceMembers(bob, scenario.stream)).map((member) => member.deviceId),
    ).toContain(alicePhone.id);

    const offline = await nthPresence(bob, alicePhone.id, 0, 5000);
    const tookMs = Date.now() - written;
    expect(offline).toMatchObject({ deviceId: alicePhone.id, state: 'offline' });
    // Expiry, then the live node's next sweep (every second).
    expect(tookMs).toBeGreaterThanOrEqual(ttlMs);
    expect(tookMs).toBeLessThan(ttlMs + 1000 + 1000);
    expect((await presenceMembers(bob, scenario.stream)).map((member) => member.deviceId)).toEqual([
      bobPhone.id,
    ]);
  });

  test('a device flapping its subscription costs the room at most its presence budget', async ({
    startNode,
    scenario,
  }) => {
    const limits = { ephemeralPerSecond: 2, ephemeralBurst: 2 };
    const node = await startNode(limits);
    const { aliceLaptop, bobPhone } = devicesOf(scenario);
    const bob = await node.connect(bobPhone.token);
    await bob.subscribe(scenario.stream);
    const laptop = await node.connect(aliceLaptop.token);
    const started = Date.now();
    for (let i = 0; i < 30; i++) {
      await laptop.subscribe(scenario.stream);
      await laptop.emitWithAck('unsubscribe', { stream: scenario.stream });
    }
    await laptop.subscribe(scenario.stream);
    // The last change wins: the laptop is online in the end, whatever was skipped.
    await listUntil(bob, scenario.stream, (members) =>
      members.some((member) => member.deviceId === aliceLaptop.id),
    );
    const seconds = (Date.now() - started) / 1000;
    const events = presenceOf(bob, aliceLaptop.id);
    expect(events.at(-1)?.state).toBe('online');
    // 61 changes were asked for; the budget passed a few.
    expect(events.length).toBeLessThanOrEqual(
      limits.ephemeralBurst + Math.ceil(seconds * limits.ephemeralPerSecond),
    );
    await bob.expectNoEvent('presence', { within: 600 });
  });
});

describe('presence without Redis', () => {
  test("is the node's own: online, listed, offline", async ({ database, scenario }) => {
    const harness = await startGatewayHarness(database);
    const { aliceLaptop, bobPhone } = devicesOf(scenario);
    const [alice, bob] = [
      new TestClient({ url: harness.url, token: aliceLaptop.token }),
      new TestClient({ url: harness.url, token: bobPhone.token }),
    ];
    try {
      await Promise.all([alice.open(), bob.open()]);
      await bob.subscribe(scenario.stream);
      await alice.subscribe(scenario.stream);
      expect(await nthPresence(bob, aliceLaptop.id, 0)).toMatchObject({ state: 'online' });
      expect(
        (await presenceMembers(bob, scenario.stream)).map((member) => member.deviceId),
      ).toEqual([bobPhone.id, aliceLaptop.id]);
      alice.disconnect();
      expect(await nthPresence(bob, aliceLaptop.id, 1)).toMatchObject({ state: 'offline' });
    } finally {
      alice.close();
      bob.close();
      await harness.close();
    }
  });
});
