import { createHash, randomUUID } from 'node:crypto';
import {
  MAX_FRAME_BYTES,
  MAX_MESSAGE_BODY_LENGTH,
  MAX_TITLE_LENGTH,
  WRITE_EVENTS,
  signDeviceToken,
  type Ack,
  type ErrorCode,
  type WireError,
  type WriteEventName,
  type WritePayloads,
} from '@ccs/protocol';
import { restCall, type RestAnswer, TestClient } from '@ccs/test-clients';
import type { TestDatabase } from '@ccs/test-env/vitest';
import { describe, expect, onTestFinished } from 'vitest';
import { WRITE_ROUTES } from '../src/http/rest-routes.js';
import type { SyncServer } from '../src/sync-server.js';
import { TEST_SERVER_JWT_SECRET } from '@ccs/test-server';
import { test } from './server-fixtures.js';
import {
  asAck,
  okOf,
  pathParams,
  restWrite,
  routeOf,
  signedUsers,
  socketWrite,
  writeRequest,
  type SignedUser,
  UNLIMITED,
} from './rest-client.js';

/** The HTTP status each error code must be answered with. */
const STATUS: Partial<Record<ErrorCode, number>> = {
  invalid_payload: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  rate_limited: 429,
};

type StartServer = (env?: Readonly<Record<string, string>>) => Promise<SyncServer>;

/** Connects a socket as `token`, closed when the test ends. */
async function connect(url: string, token: string, name: string): Promise<TestClient> {
  const client = new TestClient({ url, token, name });
  onTestFinished(() => client.close());
  await client.open();
  return client;
}

/** Who makes a request: the writer (alice), another member (bob), a user of no container (dave). */
type Who = 'alice' | 'bob' | 'dave';

/** What the parity cases write to: made through alice's socket before the case runs. */
interface World {
  readonly url: string;
  readonly users: Readonly<Record<Who, SignedUser>>;
  readonly sockets: Readonly<Record<Who, TestClient>>;
  readonly conversationId: string;
  readonly workspaceId: string;
  /** Users to add (one per run) and members to remove (one per run), of both containers. */
  readonly addable: readonly string[];
  readonly removable: readonly string[];
  readonly aliceMessageId: string;
  readonly bobMessageId: string;
  readonly deletedMessageId: string;
  /** Alice's messages to delete, one per run. */
  readonly deletable: readonly string[];
  /** Content uploaded to the workspace. */
  readonly contentHash: string;
  /** `existing.txt`, at version 3 (moved away and back). */
  readonly fileId: string;
}

/** A refused request: who sends it, what, and the code both paths must answer. */
interface Refusal {
  readonly as?: Who;
  readonly payload: Readonly<Record<string, unknown>>;
  readonly code: ErrorCode;
}

/** How one write is exercised through both paths. */
interface ParityCase<E extends WriteEventName> {
  /** A write (by alice) that succeeds; `run` tells apart the requests of different runs. */
  readonly ok: (world: World, run: number) => WritePayloads[E][0];
  /**
   * What retrying the write through the other path answers, given the first answer; by default
   * the very same answer (a retry writes nothing more).
   */
  readonly retried?: (
    first: { ok: true } & WritePayloads[E][1],
    payload: WritePayloads[E][0],
  ) => unknown;
  /** Requests refused, each answered with the same error by both paths. */
  readonly refused: (world: World) => readonly Refusal[];
}

const missing = randomUUID();

/** One case per write event: a write added to the protocol without one does not compile. */
const CASES: { readonly [E in WriteEventName]: ParityCase<E> } = {
  'message:send': {
    ok: (w, run) => ({
      conversationId: w.conversationId,
      clientId: `send-${run}`,
      body: `hi ${run}`,
    }),
    refused: (w) => [
      {
        as: 'dave',
        payload: { conversationId: w.conversationId, clientId: 'x', body: 'x' },
        code: 'forbidden',
      },
      { payload: { conversationId: missing, clientId: 'x', body: 'x' }, code: 'not_found' },
      {
        payload: { conversationId: w.conversationId, clientId: 'x', body: '' },
        code: 'invalid_payload',
      },
      {
        payload: {
          conversationId: w.conversationId,
          clientId: 'x',
          body: 'x'.repeat(MAX_MESSAGE_BODY_LENGTH + 1),
        },
        code: 'invalid_payload',
      },
    ],
  },
  'message:edit': {
    ok: (w, run) => ({ messageId: w.aliceMessageId, body: `edited ${run}` }),
    refused: (w) => [
      { as: 'bob', payload: { messageId: w.aliceMessageId, body: 'not mine' }, code: 'forbidden' },
      { as: 'dave', payload: { messageId: w.aliceMessageId, body: 'not mine' }, code: 'forbidden' },
      { payload: { messageId: missing, body: 'x' }, code: 'not_found' },
      { payload: { messageId: w.deletedMessageId, body: 'back' }, code: 'conflict' },
      { payload: { messageId: w.aliceMessageId, body: 'nul \u0000' }, code: 'invalid_payload' },
    ],
  },
  'message:delete': {
    ok: (w, run) => ({ messageId: w.deletable[run % 2]! }),
    refused: (w) => [
      { as: 'bob', payload: { messageId: w.aliceMessageId }, code: 'forbidden' },
      { payload: { messageId: w.bobMessageId }, code: 'forbidden' },
      { payload: { messageId: missing }, code: 'not_found' },
    ],
  },
  'receipt:read': {
    ok: (w, run) => ({ conversationId: w.conversationId, seq: run + 1 }),
    refused: (w) => [
      { payload: { conversationId: w.conversationId, seq: 1_000_000 }, code: 'invalid_payload' },
      { payload: { conversationId: w.conversationId, seq: -1 }, code: 'invalid_payload' },
      { payload: { conversationId: w.conversationId, seq: 1.5 }, code: 'invalid_payload' },
      { as: 'dave', payload: { conversationId: w.conversationId, seq: 1 }, code: 'forbidden' },
      { payload: { conversationId: missing, seq: 1 }, code: 'not_found' },
    ],
  },
  'conversation:create': {
    ok: (w, run) => ({
      clientId: `conversation-${run}`,
      title: `Parity ${run}`,
      memberIds: [w.users.bob.user.id],
    }),
    refused: () => [
      { payload: { clientId: 'c', memberIds: [missing] }, code: 'not_found' },
      { payload: { clientId: '' }, code: 'invalid_payload' },
      {
        payload: { clientId: 'c', title: 't'.repeat(MAX_TITLE_LENGTH + 1) },
        code: 'invalid_payload',
      },
      { payload: { clientId: 'c', memberIds: ['not-a-uuid'] }, code: 'invalid_payload' },
    ],
  },
  'conversation:update': {
    ok: (w, run) => ({ conversationId: w.conversationId, title: `Renamed ${run}` }),
    refused: (w) => [
      {
        as: 'dave',
        payload: { conversationId: w.conversationId, title: 'mine' },
        code: 'forbidden',
      },
      { payload: { conversationId: missing, title: 'x' }, code: 'not_found' },
      { payload: { conversationId: w.conversationId }, code: 'invalid_payload' },
    ],
  },
  'conversation:add_member': {
    ok: (w, run) => ({ conversationId: w.conversationId, userId: w.addable[run % 2]! }),
    refused: (w) => [
      {
        as: 'dave',
        payload: { conversationId: w.conversationId, userId: w.users.dave.user.id },
        code: 'forbidden',
      },
      { payload: { conversationId: w.conversationId, userId: missing }, code: 'not_found' },
      { payload: { conversationId: missing, userId: w.addable[0]! }, code: 'not_found' },
    ],
  },
  'conversation:remove_member': {
    ok: (w, run) => ({ conversationId: w.conversationId, userId: w.removable[run % 2]! }),
    refused: (w) => [
      {
        as: 'dave',
        payload: { conversationId: w.conversationId, userId: w.users.bob.user.id },
        code: 'forbidden',
      },
      { payload: { conversationId: missing, userId: w.users.bob.user.id }, code: 'not_found' },
    ],
  },
  'workspace:create': {
    ok: (w, run) => ({
      clientId: `workspace-${run}`,
      name: `Parity ${run}`,
      memberIds: [w.users.bob.user.id],
    }),
    refused: () => [
      { payload: { clientId: 'w', name: '' }, code: 'invalid_payload' },
      { payload: { clientId: 'w', name: 'w', memberIds: [missing] }, code: 'not_found' },
    ],
  },
  'workspace:add_member': {
    ok: (w, run) => ({ workspaceId: w.workspaceId, userId: w.addable[run % 2]! }),
    refused: (w) => [
      {
        as: 'dave',
        payload: { workspaceId: w.workspaceId, userId: w.users.dave.user.id },
        code: 'forbidden',
      },
      { payload: { workspaceId: w.workspaceId, userId: missing }, code: 'not_found' },
      { payload: { workspaceId: missing, userId: w.addable[0]! }, code: 'not_found' },
    ],
  },
  'workspace:remove_member': {
    ok: (w, run) => ({ workspaceId: w.workspaceId, userId: w.removable[run % 2]! }),
    refused: (w) => [
      {
        as: 'dave',
        payload: { workspaceId: w.workspaceId, userId: w.users.bob.user.id },
        code: 'forbidden',
      },
      { payload: { workspaceId: missing, userId: w.users.bob.user.id }, code: 'not_found' },
    ],
  },
  'file:push': {
    ok: (w, run) => ({
      op: 'create',
      workspaceId: w.workspaceId,
      path: `new-${run}.txt`,
      contentHash: w.contentHash,
    }),
    // A create is a compare-and-set: its retry finds the file it made.
    retried: (first, payload) => ({
      ok: false,
      error: {
        code: 'conflict',
        message: expect.stringContaining(payload.op === 'create' ? payload.path : '') as unknown,
        current: {
          fileId: first.file.id,
          path: first.file.path,
          version: 1,
          contentHash: first.file.contentHash,
          deleted: false,
        },
      },
    }),
    refused: (w) => [
      {
        payload: {
          op: 'create',
          workspaceId: w.workspaceId,
          path: 'existing.txt',
          contentHash: w.contentHash,
        },
        code: 'conflict',
      },
      {
        payload: {
          op: 'update',
          workspaceId: w.workspaceId,
          fileId: w.fileId,
          baseVersion: 1,
          contentHash: w.contentHash,
        },
        code: 'conflict',
      },
      {
        payload: { op: 'delete', workspaceId: w.workspaceId, fileId: missing, baseVersion: 1 },
        code: 'not_found',
      },
      {
        payload: {
          op: 'create',
          workspaceId: w.workspaceId,
          path: 'other.txt',
          contentHash: 'ab'.repeat(32),
        },
        code: 'not_found',
      },
      {
        as: 'dave',
        payload: {
          op: 'create',
          workspaceId: w.workspaceId,
          path: 'dave.txt',
          contentHash: w.contentHash,
        },
        code: 'forbidden',
      },
      {
        payload: {
          op: 'create',
          workspaceId: w.workspaceId,
          path: '../escape',
          contentHash: w.contentHash,
        },
        code: 'invalid_payload',
      },
      {
        payload: { op: 'rename', workspaceId: w.workspaceId, fileId: w.fileId },
        code: 'invalid_payload',
      },
    ],
  },
};

/** A value's shape: every leaf replaced by its type, so two answers can be compared field by field. */
function shapeOf(value: unknown): unknown {
  if (value === null) return 'null';
  if (Array.isArray(value)) return value.map(shapeOf);
  if (typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, shapeOf(inner)]));
  }
  return typeof value;
}

/** Builds the world the cases write to, through alice's socket (and REST for the content). */
async function buildWorld(startServer: StartServer, database: TestDatabase): Promise<World> {
  const server = await startServer(UNLIMITED);
  const [alice, bob, dave, ...others] = await signedUsers(database.db, [1, 1, 1, 1, 1, 1, 1]);
  const users = { alice: alice!, bob: bob!, dave: dave! };
  const sockets = {
    alice: await connect(server.url, users.alice.devices[0]!.token, 'alice'),
    bob: await connect(server.url, users.bob.devices[0]!.token, 'bob'),
    dave: await connect(server.url, users.dave.devices[0]!.token, 'dave'),
  };
  const addable = others.slice(0, 2).map(({ user }) => user.id);
  const removable = others.slice(2, 4).map(({ user }) => user.id);
  const write = async <E extends WriteEventName>(
    who: Who,
    event: E,
    payload: WritePayloads[E][0],
  ): Promise<WritePayloads[E][1]> =>
    okOf<WritePayloads[E][1]>(await socketWrite(sockets[who], event, payload), `setup ${event}`);
  const memberIds = [users.bob.user.id, ...removable];
  const conversation = await write('alice', 'conversation:create', {
    clientId: 'setup-conversation',
    title: 'Parity',
    memberIds,
  });
  const workspace = await write('alice', 'workspace:create', {
    clientId: 'setup-workspace',
    name: 'Parity',
    memberIds,
  });
  const send = (who: Who, clientId: string) =>
    write(who, 'message:send', { conversationId: conversation.id, clientId, body: clientId });
  const aliceMessage = await send('alice', 'setup-alice');
  const bobMessage = await send('bob', 'setup-bob');
  const deleted = await send('alice', 'setup-deleted');
  await write('alice', 'message:delete', { messageId: deleted.id });
  const deletable = [await send('alice', 'setup-delete-0'), await send('alice', 'setup-delete-1')];

  const content = Buffer.from('parity content');
  const contentHash = createHash('sha256').update(content).digest('hex');
  const upload = await restCall(
    server.url,
    'PUT',
    `/v1/workspaces/${workspace.id}/contents/${contentHash}`,
    { token: users.alice.devices[0]!.token, bytes: content },
  );
  expect(upload).toMatchObject({
    status: 200,
    body: { hash: contentHash, sizeBytes: content.length },
  });
  const file = await write('alice', 'file:push', {
    op: 'create',
    workspaceId: workspace.id,
    path: 'existing.txt',
    contentHash,
  });
  await write('alice', 'file:push', {
    op: 'move',
    workspaceId: workspace.id,
    fileId: file.file.id,
    baseVersion: 1,
    path: 'existing.txt.tmp',
  });
  await write('alice', 'file:push', {
    op: 'move',
    workspaceId: workspace.id,
    fileId: file.file.id,
    baseVersion: 2,
    path: 'existing.txt',
  });
  return {
    url: server.url,
    users,
    sockets,
    conversationId: conversation.id,
    workspaceId: workspace.id,
    addable,
    removable,
    aliceMessageId: aliceMessage.id,
    bobMessageId: bobMessage.id,
    deletedMessageId: deleted.id,
    deletable: deletable.map(({ id }) => id),
    contentHash,
    fileId: file.file.id,
  };
}

/** The payload refusals every write shares: an unknown field, and each path parameter malformed. */
function sharedRefusals(
  event: WriteEventName,
  valid: Readonly<Record<string, unknown>>,
): Refusal[] {
  return [
    { payload: { ...valid, unexpected: true }, code: 'invalid_payload' },
    ...pathParams(routeOf(event).url).map((name): Refusal => ({
      payload: { ...valid, [name]: 'not-a-uuid' },
      code: 'invalid_payload',
    })),
  ];
}

describe('every write answers the same through socket.io and REST', () => {
  test('WRITE_ROUTES has one route per write event, and each is a parity case', () => {
    const events = WRITE_ROUTES.map((route) => route.event);
    expect([...events].sort()).toEqual([...WRITE_EVENTS].sort());
    expect(Object.keys(CASES).sort()).toEqual([...events].sort());
    const endpoints = WRITE_ROUTES.map((route) => `${route.method} ${route.url}`);
    expect(new Set(endpoints).size).toBe(endpoints.length);
  });

  test.for(WRITE_ROUTES.map((route) => [`${route.method} /v1${route.url}`, route.event] as const))(
    '%s (%s): a retry through the other path, and every refusal, answer the same',
    async ([, event], { startServer, database }) => {
      const world = await buildWorld(startServer, database);
      const parity = CASES[event] as ParityCase<WriteEventName>;
      const tokenOf = (who: Who = 'alice') => world.users[who].devices[0]!.token;

      const refusals = [
        ...parity.refused(world),
        ...sharedRefusals(event, parity.ok(world, 2) as Record<string, unknown>),
      ];
      for (const refusal of refusals) {
        const what = `${refusal.as ?? 'alice'}: ${event} ${JSON.stringify(refusal.payload).slice(0, 200)}`;
        const overSocket = await socketWrite(
          world.sockets[refusal.as ?? 'alice'],
          event,
          refusal.payload,
        );
        const overRest = await restWrite(world.url, tokenOf(refusal.as), event, refusal.payload);
        expect(overSocket, what).toMatchObject({ ok: false, error: { code: refusal.code } });
        expect(asAck(overRest), what).toEqual(overSocket);
        expect(overRest.status, what).toBe(STATUS[refusal.code]);
      }

      // Run 0: socket first, retried through REST; run 1: REST first, retried over the socket.
      const firsts: { socket?: Ack; rest?: Ack } = {};
      for (const run of [0, 1]) {
        const payload = parity.ok(world, run) as Record<string, unknown>;
        const overSocket = () => socketWrite(world.sockets.alice, event, payload);
        const overRest = async () => {
          const answer = await restWrite(world.url, tokenOf(), event, payload);
          return { answer, ack: asAck(answer) };
        };
        let first: Ack;
        let retry: Ack;
        if (run === 0) {
          first = firsts.socket = await overSocket();
          retry = (await overRest()).ack;
        } else {
          const rest = await overRest();
          expect(rest.answer.status).toBe(200);
          first = firsts.rest = rest.ack;
          retry = await overSocket();
        }
        const ok = okOf<WritePayloads[WriteEventName][1]>(first, `${event} run ${run}`);
        expect(retry, `${event} retried (run ${run})`).toEqual(
          parity.retried ? parity.retried(ok, payload as never) : first,
        );
      }
      expect(shapeOf(firsts.rest)).toEqual(shapeOf(firsts.socket));
    },
  );

  test.for(WRITE_ROUTES.map((route) => [`${route.method} /v1${route.url}`, route.event] as const))(
    '%s (%s): no token is 401, a path parameter contradicted by the body or a body over the frame limit is invalid_payload',
    async ([, event], { startServer, database }) => {
      const server = await startServer(UNLIMITED);
      const [alice] = await signedUsers(database.db, [1]);
      const token = alice!.devices[0]!.token;
      const payload = Object.fromEntries(
        [...pathParams(routeOf(event).url), 'clientId'].map((name) => [
          name,
          name === 'clientId' ? 'c' : randomUUID(),
        ]),
      );
      const { method, path, json } = writeRequest(event, payload);

      const anonymous = await restCall(server.url, method, path, { json });
      expect(anonymous.status).toBe(401);
      expect(anonymous.body).toMatchObject({ code: 'unauthorized', message: expect.any(String) });

      for (const name of pathParams(routeOf(event).url)) {
        const contradicted = await restCall(server.url, method, path, {
          token,
          json: { ...json, [name]: randomUUID() },
        });
        expect(contradicted.status, name).toBe(400);
        expect(contradicted.body).toMatchObject({
          code: 'invalid_payload',
          message: expect.stringContaining(name),
        });
      }

      const oversized = await restCall(server.url, method, path, {
        token,
        json: { ...json, padding: 'x'.repeat(MAX_FRAME_BYTES) },
      });
      expect(oversized.status).toBe(413);
      expect(oversized.body).toMatchObject({
        code: 'invalid_payload',
        message: expect.stringContaining(String(MAX_FRAME_BYTES)),
      });

      const notJson = await restCall(server.url, method, path, {
        token,
        bytes: '{"clientId":',
        contentType: 'application/json',
      });
      expect(notJson.status).toBe(400);
      expect(notJson.body).toMatchObject({ code: 'invalid_payload' });
    },
  );

  test('a path parameter repeated in the body with the same value is accepted', async ({
    startServer,
    database,
  }) => {
    const server = await startServer(UNLIMITED);
    const [alice] = await signedUsers(database.db, [1]);
    const token = alice!.devices[0]!.token;
    const created = await restWrite(server.url, token, 'conversation:create', { clientId: 'c' });
    const conversationId = (created.body as { id: string }).id;
    const { method, path } = writeRequest('message:send', { conversationId });
    const sent = await restCall(server.url, method, path, {
      token,
      json: { conversationId, clientId: 'm', body: 'hello' },
    });
    expect(sent).toMatchObject({
      status: 200,
      body: { stream: `conversation:${conversationId}`, seq: 3 },
    });
  });
});

describe('REST authenticates every request as a socket handshake', () => {
  test("a missing, malformed, forged, expired, over-long, revoked or misattributed token is 401 unauthorized, with the handshake's words", async ({
    startServer,
    database,
  }) => {
    const server = await startServer(UNLIMITED);
    const [alice, bob] = await signedUsers(database.db, [2, 1]);
    const [laptop, phone] = alice!.devices;
    const identity = { userId: alice!.user.id, deviceId: laptop!.id };
    const snapshot = `/v1/streams/user:${alice!.user.id}/snapshot`;
    const ok = await restCall(server.url, 'GET', snapshot, { token: laptop!.token });
    expect(ok).toMatchObject({ status: 200, body: { stream: `user:${alice!.user.id}` } });

    for (const authorization of ['', 'Basic abc', 'Bearer', 'Bearer a b', laptop!.token]) {
      const answer = await restCall(server.url, 'GET', snapshot, {
        headers: authorization === '' ? {} : { authorization },
      });
      expect(answer.status, authorization).toBe(401);
      expect(answer.body).toEqual({
        code: 'unauthorized',
        message: expect.stringContaining('Bearer'),
      });
    }

    const tokens = {
      garbage: 'not.a.jwt',
      forged: await signDeviceToken(identity, { secret: 'another-secret-0123456789abcdef' }),
      expired: await signDeviceToken(identity, {
        secret: TEST_SERVER_JWT_SECRET,
        expiresIn: '-1m',
      }),
      overLong: await signDeviceToken(identity, {
        secret: TEST_SERVER_JWT_SECRET,
        expiresIn: '400d',
      }),
      misattributed: await signDeviceToken(
        { userId: bob!.user.id, deviceId: laptop!.id },
        { secret: TEST_SERVER_JWT_SECRET },
      ),
      unknownDevice: await signDeviceToken(
        { userId: alice!.user.id, deviceId: randomUUID() },
        { secret: TEST_SERVER_JWT_SECRET },
      ),
    };
    const handshakeError = async (token: string): Promise<WireError> => {
      const client = new TestClient({ url: server.url, token });
      onTestFinished(() => client.close());
      const error = await client.open().then(
        () => undefined,
        (refused: unknown) => refused as { data?: WireError },
      );
      expect(error?.data).toBeDefined();
      return error!.data!;
    };
    const expectRefused = async (name: string, token: string): Promise<void> => {
      const overRest = await restCall(server.url, 'GET', snapshot, { token });
      expect(overRest.status, name).toBe(401);
      expect(overRest.body, name).toMatchObject({ code: 'unauthorized' });
      const write = await restWrite(server.url, token, 'conversation:create', { clientId: name });
      expect(write.status, name).toBe(401);
      expect(overRest.body, name).toEqual(await handshakeError(token));
    };
    for (const [name, token] of Object.entries(tokens)) await expectRefused(name, token);
    expect(await restCall(server.url, 'GET', snapshot, { token: tokens.expired })).toMatchObject({
      body: { message: expect.stringMatching(/exp/) },
    });

    await database.pool.query('UPDATE devices SET revoked_at = now() WHERE id = $1', [phone!.id]);
    await expectRefused('revoked', phone!.token);
    const { rows } = await database.pool.query<{ count: string }>(
      'SELECT count(*) FROM conversations WHERE creator_device_id = ANY($1)',
      [[laptop!.id, phone!.id]],
    );
    expect(Number(rows[0]!.count)).toBe(0);
    // The laptop is not concerned.
    expect(await restCall(server.url, 'GET', snapshot, { token: laptop!.token })).toMatchObject({
      status: 200,
    });
  });

  test('an unknown route or method is 404 not_found JSON, with or without a token', async ({
    startServer,
    database,
  }) => {
    const server = await startServer(UNLIMITED);
    const [alice] = await signedUsers(database.db, [1]);
    const token = alice!.devices[0]!.token;
    for (const [method, path] of [
      ['GET', '/v1/nope'],
      ['GET', '/v1/conversations'],
      ['PUT', '/v1/messages/' + randomUUID()],
      ['POST', '/v1/dev/tokens/extra'],
    ] as const) {
      for (const options of [{ token }, {}]) {
        const answer = await restCall(server.url, method, path, options);
        expect(answer.status, `${method} ${path}`).toBe(404);
        expect(answer.body).toEqual({ code: 'not_found', message: expect.stringContaining(path) });
      }
    }
  });
});

/** Alice and Bob in a conversation, on a server started with `env`. */
async function pair(startServer: StartServer, database: TestDatabase, env: Record<string, string>) {
  const server = await startServer(env);
  const [alice, bob] = await signedUsers(database.db, [1, 1]);
  const aliceToken = alice!.devices[0]!.token;
  const created = await restWrite(server.url, aliceToken, 'conversation:create', {
    clientId: 'limits',
    memberIds: [bob!.user.id],
  });
  expect(created.status).toBe(200);
  return { server, alice: alice!, bob: bob!, conversationId: (created.body as { id: string }).id };
}

/** Messages a device wrote. */
async function messagesOf(database: TestDatabase, deviceId: string): Promise<number> {
  const { rows } = await database.pool.query<{ count: string }>(
    'SELECT count(*) FROM messages WHERE device_id = $1',
    [deviceId],
  );
  return Number(rows[0]!.count);
}

/** Expects a 429 whose Retry-After is the body's retryAfterMs, in whole seconds. */
function expectRateLimited(answer: RestAnswer): WireError {
  expect(answer.status).toBe(429);
  const error = answer.body as WireError;
  expect(error).toMatchObject({ code: 'rate_limited', retryAfterMs: expect.any(Number) });
  expect(answer.headers['retry-after']).toBe(
    String(Math.max(1, Math.ceil(error.retryAfterMs! / 1000))),
  );
  return error;
}

describe('limits cannot be bypassed through REST', () => {
  test('write tokens spent over REST are missing on the socket, and the other way round', async ({
    startServer,
    database,
  }) => {
    // One write token every 100 s: the bucket does not refill during the test.
    const { server, alice, bob, conversationId } = await pair(startServer, database, {
      ...UNLIMITED,
      CCS_SENDS_PER_SECOND: '0.01',
      CCS_SEND_BURST: '3',
    });
    const send = (clientId: string) => ({ conversationId, clientId, body: clientId });

    // Alice: the create spent one token; two more sends over REST empty her bucket.
    const aliceToken = alice.devices[0]!.token;
    for (const clientId of ['rest-1', 'rest-2']) {
      expect((await restWrite(server.url, aliceToken, 'message:send', send(clientId))).status).toBe(
        200,
      );
    }
    const aliceSocket = await connect(server.url, aliceToken, 'alice');
    const refusedOverSocket = await socketWrite(aliceSocket, 'message:send', send('socket-1'));
    expect(refusedOverSocket).toMatchObject({
      ok: false,
      error: { code: 'rate_limited', retryAfterMs: expect.any(Number) },
    });
    const refusedOverRest = expectRateLimited(
      await restWrite(server.url, aliceToken, 'message:send', send('rest-3')),
    );
    expect(refusedOverRest.message).toBe((refusedOverSocket as { error: WireError }).error.message);
    expect(await messagesOf(database, alice.devices[0]!.id)).toBe(2);

    // Bob: three sends over the socket, then REST is refused too, uploads included.
    const bobToken = bob.devices[0]!.token;
    const bobSocket = await connect(server.url, bobToken, 'bob');
    for (const clientId of ['socket-1', 'socket-2', 'socket-3']) {
      expect(await socketWrite(bobSocket, 'message:send', send(clientId))).toMatchObject({
        ok: true,
      });
    }
    expect(await socketWrite(bobSocket, 'message:send', send('socket-4'))).toMatchObject({
      ok: false,
      error: { code: 'rate_limited' },
    });
    expectRateLimited(await restWrite(server.url, bobToken, 'message:send', send('rest-1')));
    expectRateLimited(
      await restWrite(server.url, bobToken, 'workspace:create', { clientId: 'w', name: 'w' }),
    );
    expect(await messagesOf(database, bob.devices[0]!.id)).toBe(3);
    // Reads are not writes: the snapshot still answers.
    expect(
      await restCall(server.url, 'GET', `/v1/streams/conversation:${conversationId}/snapshot`, {
        token: bobToken,
      }),
    ).toMatchObject({ status: 200 });
  });

  test('REST requests over CCS_REST_REQUESTS_PER_SECOND are 429 with Retry-After, per device', async ({
    startServer,
    database,
  }) => {
    const { server, alice, bob, conversationId } = await pair(startServer, database, {
      ...UNLIMITED,
      CCS_REST_REQUESTS_PER_SECOND: '0.01',
      CCS_REST_REQUEST_BURST: '3',
    });
    const snapshot = `/v1/streams/conversation:${conversationId}/snapshot`;
    const aliceToken = alice.devices[0]!.token;
    // The create was the first of alice's three requests.
    for (let i = 0; i < 2; i++) {
      expect(await restCall(server.url, 'GET', snapshot, { token: aliceToken })).toMatchObject({
        status: 200,
      });
    }
    const refused = expectRateLimited(
      await restCall(server.url, 'GET', snapshot, { token: aliceToken }),
    );
    expect(refused.retryAfterMs).toBeGreaterThan(1000);
    expectRateLimited(
      await restWrite(server.url, aliceToken, 'message:send', {
        conversationId,
        clientId: 'm',
        body: 'm',
      }),
    );
    expect(await messagesOf(database, alice.devices[0]!.id)).toBe(0);
    // Another device has its own allowance; the socket is not a REST request.
    expect(
      await restCall(server.url, 'GET', snapshot, { token: bob.devices[0]!.token }),
    ).toMatchObject({
      status: 200,
    });
    const socket = await connect(server.url, aliceToken, 'alice');
    expect(
      await socketWrite(socket, 'message:send', { conversationId, clientId: 'm', body: 'm' }),
    ).toMatchObject({ ok: true });
  });

  test('REST writes of one device past CCS_SENDS_IN_FLIGHT_PER_SOCKET at once are 429, as on a socket', async ({
    startServer,
    database,
  }) => {
    const { server, alice, conversationId } = await pair(startServer, database, {
      ...UNLIMITED,
      CCS_SENDS_IN_FLIGHT_PER_SOCKET: '1',
    });
    const token = alice.devices[0]!.token;
    // Hold the conversation's head row: the first write waits on it, in flight.
    const holder = await database.pool.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT 1 FROM stream_heads WHERE stream = $1 FOR UPDATE', [
        `conversation:${conversationId}`,
      ]);
      const first = restWrite(server.url, token, 'message:send', {
        conversationId,
        clientId: 'held',
        body: 'waits for the head row',
      });
      await expect
        .poll(async () => {
          const { rows } = await database.pool.query<{ waiting: number }>(
            `SELECT count(*)::int AS waiting FROM pg_stat_activity
             WHERE datname = current_database() AND wait_event_type = 'Lock'`,
          );
          return rows[0]!.waiting;
        })
        .toBeGreaterThan(0);
      const second = expectRateLimited(
        await restWrite(server.url, token, 'message:send', {
          conversationId,
          clientId: 'refused',
          body: 'one write of this device is already in flight',
        }),
      );
      expect(second.message).toContain('await their answer');
      await holder.query('COMMIT');
      expect((await first).status).toBe(200);
    } finally {
      await holder.query('ROLLBACK').catch(() => undefined);
      holder.release();
    }
    // Once answered, the device writes again.
    expect(
      (
        await restWrite(server.url, token, 'message:send', {
          conversationId,
          clientId: 'after',
          body: 'after',
        })
      ).status,
    ).toBe(200);
  });

  test('content over CCS_MAX_FILE_BYTES is 413 invalid_payload and nothing is stored', async ({
    startServer,
    database,
  }) => {
    const maxFileBytes = 1024;
    const server = await startServer({ ...UNLIMITED, CCS_MAX_FILE_BYTES: String(maxFileBytes) });
    const [alice] = await signedUsers(database.db, [1]);
    const token = alice!.devices[0]!.token;
    const workspace = await restWrite(server.url, token, 'workspace:create', {
      clientId: 'w',
      name: 'w',
    });
    const workspaceId = (workspace.body as { id: string }).id;
    const upload = (content: Buffer) =>
      restCall(server.url, 'PUT', `/v1/workspaces/${workspaceId}/contents/${sha256(content)}`, {
        token,
        bytes: content,
      });
    const stored = async (content: Buffer) => {
      const { rows } = await database.pool.query('SELECT 1 FROM file_contents WHERE hash = $1', [
        sha256(content),
      ]);
      return rows.length;
    };

    const atLimit = Buffer.alloc(maxFileBytes, 7);
    expect(await upload(atLimit)).toMatchObject({
      status: 200,
      body: { hash: sha256(atLimit), sizeBytes: maxFileBytes },
    });
    expect(await stored(atLimit)).toBe(1);

    for (const size of [maxFileBytes + 1, 64 * maxFileBytes]) {
      const over = Buffer.alloc(size, 8);
      const refused = await upload(over);
      expect(refused.status, `${size} bytes`).toBe(413);
      expect(refused.body).toEqual({
        code: 'invalid_payload',
        message: expect.stringContaining(String(maxFileBytes)),
      });
      expect(await stored(over)).toBe(0);
    }
  });
});

function sha256(content: Buffer): string {
  return createHash('sha256').update(content).digest('hex');
}
