import { readStreamPosition } from '@ccs/db';
import { createMessage, seedConversationScenario, type SignedDevice } from '@ccs/fixtures';
import type { StreamName } from '@ccs/protocol';
import { restCall, TestClient } from '@ccs/test-clients';
import { TEST_SERVER_JWT_SECRET as jwtSecret } from '@ccs/test-server';
import { describe, expect, onTestFinished } from 'vitest';
import type {
  DeviceResyncView,
  DeviceView,
  StreamResyncView,
  StreamSubscribersView,
} from '../src/http/inspector-routes.js';
import type { SyncServer } from '../src/index.js';
import { test } from './server-fixtures.js';

const ADMIN_TOKEN = 'admin-token-of-the-inspector-tests-0042';
/** How long a poll waits for the cluster to get somewhere. */
const WAIT = { timeout: 10_000, interval: 50 };

/** Two gateway nodes of one cluster (one database, one Redis prefix), with the admin token. */
async function twoNodes(
  startServer: (env?: Readonly<Record<string, string>>) => Promise<SyncServer>,
): Promise<[SyncServer, SyncServer]> {
  const nodeA = await startServer({ CCS_ADMIN_TOKEN: ADMIN_TOKEN });
  const nodeB = await startServer({ CCS_ADMIN_TOKEN: ADMIN_TOKEN });
  return [nodeA, nodeB];
}

/** A device's socket on `server`, closed when the test ends. */
async function connect(server: SyncServer, device: SignedDevice, name: string) {
  const client = new TestClient({ url: server.url, token: device.token, name });
  onTestFinished(() => client.close());
  await client.open();
  return client;
}

/** An admin call, expecting `status`; resolves with the body. */
async function admin<T>(
  server: SyncServer,
  method: 'GET' | 'POST',
  path: string,
  status = 200,
): Promise<T> {
  const answer = await restCall(server.url, method, path, { token: ADMIN_TOKEN });
  expect({ status: answer.status, body: answer.body }).toMatchObject({ status });
  return answer.body as T;
}

const subscribersOf = (server: SyncServer, stream: StreamName) =>
  admin<StreamSubscribersView>(
    server,
    'GET',
    `/v1/admin/streams/${encodeURIComponent(stream)}/subscribers`,
  );

/** The device says it holds `stream` up to `seq` (`changes:received`, kept by the gateway). */
async function acknowledge(client: TestClient, stream: StreamName, seq: number): Promise<void> {
  expect(await client.emitWithAck('changes:received', { streams: { [stream]: seq } })).toEqual({
    ok: true,
  });
}

describe('stream inspector: admin routes across two nodes', () => {
  test('lists the subscribers of a stream on every node, with their node, device, received seq and lag', async ({
    startServer,
    database,
  }) => {
    const [nodeA, nodeB] = await twoNodes(startServer);
    expect(nodeA.nodeId).toMatch(/^.+:\d+$/);
    expect(nodeA.nodeId).not.toBe(nodeB.nodeId);
    const scenario = await seedConversationScenario(database.db, {
      jwtSecret,
      devicesPerUser: [2, 1],
    });
    const [alice, bob] = scenario.users;
    const [phone, laptop] = alice!.devices;
    const phoneA = await connect(nodeA, phone!, 'phone@A');
    const laptopB = await connect(nodeB, laptop!, 'laptop@B');
    const bobB = await connect(nodeB, bob!.devices[0]!, 'bob@B');
    for (const client of [phoneA, laptopB, bobB]) await client.subscribe(scenario.stream);
    await createMessage(database.db, phone!, scenario.conversation.id, { body: 'one' });
    await createMessage(database.db, phone!, scenario.conversation.id, { body: 'two' });
    const { head } = await readStreamPosition(database.db, scenario.stream);
    expect(head).toBeGreaterThanOrEqual(2);

    const row = (server: SyncServer, client: TestClient, device: SignedDevice) => ({
      node: server.nodeId,
      socketId: client.socket.id,
      userId: device.userId,
      deviceId: device.id,
      connectedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      received: null,
      lag: null,
      reportedAt: null,
    });
    const expected = {
      stream: scenario.stream,
      head,
      subscribers: expect.arrayContaining([
        row(nodeA, phoneA, phone!),
        row(nodeB, laptopB, laptop!),
        row(nodeB, bobB, bob!.devices[0]!),
      ]),
    };
    // Asked of either node, the answer holds both nodes' sockets.
    for (const node of [nodeA, nodeB]) {
      const view = await subscribersOf(node, scenario.stream);
      expect(view).toEqual(expected);
      expect(view.subscribers).toHaveLength(3);
    }

    // What each device acknowledged (changes:received, kept on its socket by the node that
    // serves it) shows on every node.
    // with when it said so.
    const reportedFrom = Date.now();
    await acknowledge(bobB, scenario.stream, head - 1);
    await acknowledge(phoneA, scenario.stream, head);
    const reportedTo = Date.now();
    const view = await subscribersOf(nodeA, scenario.stream);
    const reported = expect.stringMatching(/^\d{4}-\d\d-\d\dT/);
    expect(view.subscribers).toEqual(
      expect.arrayContaining([
        {
          ...row(nodeB, bobB, bob!.devices[0]!),
          received: head - 1,
          lag: 1,
          reportedAt: reported,
        },
        { ...row(nodeA, phoneA, phone!), received: head, lag: 0, reportedAt: reported },
        row(nodeB, laptopB, laptop!),
      ]),
    );
    for (const { reportedAt } of view.subscribers.filter((s) => s.reportedAt !== null)) {
      expect(Date.parse(reportedAt!)).toBeGreaterThanOrEqual(reportedFrom);
      expect(Date.parse(reportedAt!)).toBeLessThanOrEqual(reportedTo);
    }

    // A socket that unsubscribes leaves the list; a stream nobody follows has none.
    expect(await laptopB.emitWithAck('unsubscribe', { stream: scenario.stream })).toMatchObject({
      ok: true,
    });
    await expect
      .poll(async () => (await subscribersOf(nodeA, scenario.stream)).subscribers.length, WAIT)
      .toBe(2);
    const ownStream: StreamName = `user:${alice!.user.id}`;
    expect(await subscribersOf(nodeB, ownStream)).toEqual({
      stream: ownStream,
      head: expect.any(Number),
      subscribers: [],
    });
  });

  test("shows a device's row, its sockets on every node with their streams, and its presence", async ({
    startServer,
    database,
  }) => {
    const [nodeA, nodeB] = await twoNodes(startServer);
    const scenario = await seedConversationScenario(database.db, {
      jwtSecret,
      devicesPerUser: [1, 1],
    });
    const [alice, bob] = scenario.users;
    const phone = alice!.devices[0]!;
    const ownStream: StreamName = `user:${alice!.user.id}`;
    // One device, two sockets: one on each node.
    const phoneA = await connect(nodeA, phone, 'phone@A');
    const phoneB = await connect(nodeB, phone, 'phone@B');
    await phoneA.subscribe(scenario.stream);
    await phoneA.subscribe(ownStream);
    await phoneB.subscribe(scenario.stream);
    await createMessage(database.db, phone, scenario.conversation.id, { body: 'hello' });
    const conversationHead = (await readStreamPosition(database.db, scenario.stream)).head;
    const ownHead = (await readStreamPosition(database.db, ownStream)).head;
    await acknowledge(phoneA, scenario.stream, conversationHead);

    const deviceView = () => admin<DeviceView>(nodeB, 'GET', `/v1/admin/devices/${phone.id}`);
    // Presence entries are written just after the joins: wait for both streams'.
    await expect
      .poll(async () => (await deviceView()).presence.filter((entry) => entry.online), WAIT)
      .toHaveLength(2);
    const view = await deviceView();
    expect(view.device).toEqual({
      id: phone.id,
      userId: alice!.user.id,
      name: phone.name,
      createdAt: phone.createdAt.toISOString(),
      revokedAt: null,
      revoked: false,
    });
    expect(view.sockets).toHaveLength(2);
    expect(view.sockets).toEqual(
      expect.arrayContaining([
        {
          node: nodeA.nodeId,
          socketId: phoneA.socket.id,
          connectedAt: expect.any(String),
          reportedAt: expect.any(String),
          streams: [
            {
              stream: scenario.stream,
              head: conversationHead,
              received: conversationHead,
              lag: 0,
            },
            { stream: ownStream, head: ownHead, received: null, lag: null },
          ],
        },
        {
          node: nodeB.nodeId,
          socketId: phoneB.socket.id,
          connectedAt: expect.any(String),
          reportedAt: null,
          streams: [{ stream: scenario.stream, head: conversationHead, received: null, lag: null }],
        },
      ]),
    );
    expect(view.presence).toEqual([
      { stream: scenario.stream, online: true, since: expect.stringMatching(/^\d{4}-/) },
      { stream: ownStream, online: true, since: expect.stringMatching(/^\d{4}-/) },
    ]);

    // A device that is only a row: no sockets, no presence.
    const bobView = await admin<DeviceView>(
      nodeA,
      'GET',
      `/v1/admin/devices/${bob!.devices[0]!.id}`,
    );
    expect(bobView).toMatchObject({
      device: { id: bob!.devices[0]!.id, revoked: false },
      sockets: [],
      presence: [],
    });

    // Revoked in SQL: the row says so, and its sockets end on both nodes.
    await database.pool.query('UPDATE devices SET revoked_at = now() WHERE id = $1', [phone.id]);
    await expect.poll(deviceView, WAIT).toMatchObject({
      device: { revoked: true, revokedAt: expect.any(String) },
      sockets: [],
      presence: [],
    });
  });

  test('a stream resync reaches its subscribers on every node as resync_required (operator_request)', async ({
    startServer,
    database,
  }) => {
    const [nodeA, nodeB] = await twoNodes(startServer);
    const scenario = await seedConversationScenario(database.db, {
      jwtSecret,
      devicesPerUser: [1, 1],
    });
    const [alice, bob] = scenario.users;
    const aliceA = await connect(nodeA, alice!.devices[0]!, 'alice@A');
    const bobB = await connect(nodeB, bob!.devices[0]!, 'bob@B');
    await aliceA.subscribe(scenario.stream);
    await bobB.subscribe(scenario.stream);
    const { head } = await readStreamPosition(database.db, scenario.stream);

    const answer = await admin<StreamResyncView>(
      nodeA,
      'POST',
      `/v1/admin/streams/${scenario.stream}/resync`,
    );
    expect(answer).toEqual({ stream: scenario.stream, head, sockets: 2 });
    for (const client of [aliceA, bobB]) {
      const [event] = await client.waitFor('resync_required');
      expect(event).toEqual({ stream: scenario.stream, reason: 'operator_request', head });
    }

    // A stream nobody follows: nobody told.
    expect(
      await admin<StreamResyncView>(nodeB, 'POST', `/v1/admin/streams/user:${bob!.user.id}/resync`),
    ).toEqual({ stream: `user:${bob!.user.id}`, head: expect.any(Number), sockets: 0 });
  });

  test("a device resync asked of one node reaches the device's streams on the other node, and no one else", async ({
    startServer,
    database,
  }) => {
    const [nodeA, nodeB] = await twoNodes(startServer);
    const scenario = await seedConversationScenario(database.db, {
      jwtSecret,
      devicesPerUser: [1, 1],
    });
    const [alice, bob] = scenario.users;
    const bobDevice = bob!.devices[0]!;
    const bobStream: StreamName = `user:${bob!.user.id}`;
    const bobB = await connect(nodeB, bobDevice, 'bob@B');
    const aliceB = await connect(nodeB, alice!.devices[0]!, 'alice@B');
    await bobB.subscribe(scenario.stream);
    await bobB.subscribe(bobStream);
    await aliceB.subscribe(scenario.stream);
    await createMessage(database.db, alice!.devices[0]!, scenario.conversation.id);
    const heads = {
      conversation: (await readStreamPosition(database.db, scenario.stream)).head,
      own: (await readStreamPosition(database.db, bobStream)).head,
    };

    const answer = await admin<DeviceResyncView>(
      nodeA,
      'POST',
      `/v1/admin/devices/${bobDevice.id}/resync`,
    );
    expect(answer).toEqual({
      deviceId: bobDevice.id,
      sockets: 1,
      streams: [
        { stream: scenario.stream, head: heads.conversation },
        { stream: bobStream, head: heads.own },
      ],
    });
    const events = await bobB.waitForCount('resync_required', 2);
    expect(events.map(([event]) => event)).toEqual(
      expect.arrayContaining([
        { stream: scenario.stream, reason: 'operator_request', head: heads.conversation },
        { stream: bobStream, reason: 'operator_request', head: heads.own },
      ]),
    );
    // Alice shares the stream and the node but not the device: a stream resync sent after the
    // device's (same publisher, same order) is the only one she gets.
    await admin(nodeA, 'POST', `/v1/admin/streams/${scenario.stream}/resync`);
    await aliceB.waitFor('resync_required');
    expect(aliceB.received('resync_required')).toHaveLength(1);
    await bobB.waitForCount('resync_required', 3);

    // An id that is no device's is not_found; a device without sockets has nothing to be told.
    expect(
      await admin<DeviceResyncView>(
        nodeB,
        'POST',
        `/v1/admin/devices/${alice!.user.id}/resync`,
        404,
      ),
    ).toMatchObject({ code: 'not_found' });
    bobB.close();
    await expect
      .poll(
        () => admin<DeviceResyncView>(nodeA, 'POST', `/v1/admin/devices/${bobDevice.id}/resync`),
        WAIT,
      )
      .toEqual({ deviceId: bobDevice.id, sockets: 0, streams: [] });
  });

  test('refuses requests without the admin token, bad names and unknown devices with wire errors', async ({
    startServer,
    database,
  }) => {
    const [nodeA] = await twoNodes(startServer);
    const scenario = await seedConversationScenario(database.db, {
      jwtSecret,
      devicesPerUser: [1],
    });
    const device = scenario.users[0]!.devices[0]!;
    const routes: ['GET' | 'POST', string][] = [
      ['GET', `/v1/admin/streams/${scenario.stream}/subscribers`],
      ['GET', `/v1/admin/devices/${device.id}`],
      ['POST', `/v1/admin/streams/${scenario.stream}/resync`],
      ['POST', `/v1/admin/devices/${device.id}/resync`],
    ];
    for (const [method, path] of routes) {
      for (const token of [undefined, 'not-the-admin-token', device.token]) {
        const answer = await restCall(nodeA.url, method, path, { token });
        expect({ path, token, status: answer.status, body: answer.body }).toMatchObject({
          status: 401,
          body: { code: 'unauthorized', message: expect.stringContaining('CCS_ADMIN_TOKEN') },
        });
      }
    }

    for (const [method, path] of [
      ['GET', '/v1/admin/streams/conversation:not-a-uuid/subscribers'],
      ['POST', '/v1/admin/streams/channel:1/resync'],
      ['GET', '/v1/admin/devices/not-a-uuid'],
      ['POST', '/v1/admin/devices/42/resync'],
    ] as const) {
      expect(await admin(nodeA, method, path, 400)).toEqual({
        code: 'invalid_payload',
        message: expect.any(String),
      });
    }
    const badStream = await admin<{ message: string }>(
      nodeA,
      'GET',
      '/v1/admin/streams/conversation:x/subscribers',
      400,
    );
    expect(badStream.message).toBe(
      'stream subscribers: stream: expected "<conversation|workspace|user>:<uuid>"',
    );
    const unknown = '00000000-0000-4000-8000-000000000000';
    for (const method of ['GET', 'POST'] as const) {
      const path = `/v1/admin/devices/${unknown}${method === 'POST' ? '/resync' : ''}`;
      expect(await admin(nodeA, method, path, 404)).toEqual({
        code: 'not_found',
        message: `no device ${unknown}`,
      });
    }
    // A stream's id is read in any case, as everywhere else.
    const shouted = `conversation:${scenario.conversation.id.toUpperCase()}` as StreamName;
    expect(await subscribersOf(nodeA, shouted)).toMatchObject({ stream: scenario.stream });

    // Without CCS_ADMIN_TOKEN the routes do not exist, whatever is sent.
    const plain = await startServer();
    for (const [method, path] of routes) {
      const answer = await restCall(plain.url, method, path, { token: ADMIN_TOKEN });
      expect({ path, status: answer.status }).toEqual({ path, status: 404 });
    }
  });
});
