import { readChanges } from '@ccs/db';
import {
  streamName,
  type Ack,
  type ChangeEvent,
  type ConversationSnapshot,
  type FilePushPayload,
  type FilePushResult,
  type StreamName,
  type StreamSnapshot,
  type WorkspaceSnapshot,
  type WriteEventName,
  type WritePayloads,
} from '@ccs/protocol';
import { createUser } from '@ccs/fixtures';
import { TestClient } from '@ccs/test-clients';
import type { TestDatabase } from '@ccs/test-env/vitest';
import fc from 'fast-check';
import { describe, expect } from 'vitest';
import type { SyncServer } from '../src/sync-server.js';
import { test } from './server-fixtures.js';
import { UNLIMITED } from './rest-client.js';
import { DeviceHttp, userWithDevices, type TestDevice } from './file-sync-client.js';

// ---------------------------------------------------------------------------------------------
// A stream's state: every row the stream is about, by entity and key, as the wire shows rows.

type Row = Readonly<Record<string, unknown>>;
type State = Map<string, Row>;

/** The key of a row of each entity within its stream. */
const KEYS: Readonly<Record<string, string>> = {
  conversation: 'id',
  conversation_member: 'userId',
  message: 'id',
  read_receipt: 'deviceId',
  workspace: 'id',
  workspace_member: 'userId',
  sync_file: 'id',
};

function put(state: State, entity: string, row: Row): void {
  const key = KEYS[entity];
  if (key === undefined) throw new Error(`no state for ${entity} rows`);
  // A deleted file is not in a workspace's state (a snapshot lists live files only).
  if (entity === 'sync_file' && row['deleted'] === true)
    state.delete(`${entity}/${String(row[key])}`);
  else state.set(`${entity}/${String(row[key])}`, row);
}

/** Applies one change to a state, as a client does. */
function apply(state: State, change: ChangeEvent): void {
  const [entity, verb] = change.kind.split('.') as [string, string];
  const key = KEYS[entity];
  if (key === undefined) throw new Error(`no state for ${change.kind} (seq ${change.seq})`);
  const row = change.data as unknown as Row;
  if (verb === 'deleted') state.delete(`${entity}/${String(row[key])}`);
  else put(state, entity, row);
}

function replay(changes: readonly ChangeEvent[]): State {
  const state: State = new Map();
  for (const change of changes) apply(state, change);
  return state;
}

/** A state as a plain object with sorted keys, to compare and to print. */
const sorted = (state: State): Record<string, Row> =>
  Object.fromEntries([...state].sort(([a], [b]) => a.localeCompare(b)));

function fromSnapshot(snapshot: StreamSnapshot): State {
  const state: State = new Map();
  if ('conversation' in snapshot) {
    const conversation = snapshot as ConversationSnapshot;
    put(state, 'conversation', conversation.conversation as unknown as Row);
    for (const row of conversation.members)
      put(state, 'conversation_member', row as unknown as Row);
    for (const row of conversation.messages) put(state, 'message', row as unknown as Row);
    for (const row of conversation.receipts) put(state, 'read_receipt', row as unknown as Row);
  } else if ('workspace' in snapshot) {
    const workspace = snapshot as WorkspaceSnapshot;
    put(state, 'workspace', workspace.workspace as unknown as Row);
    for (const row of workspace.members) put(state, 'workspace_member', row as unknown as Row);
    for (const row of workspace.files) put(state, 'sync_file', row as unknown as Row);
  } else {
    throw new Error(`unexpected snapshot of ${snapshot.stream}`);
  }
  return state;
}

const camel = (row: Row): Row =>
  Object.fromEntries(
    Object.entries(row).map(([key, value]) => [
      key.replace(/_([a-z0-9])/g, (_, letter: string) => letter.toUpperCase()),
      value,
    ]),
  );

/** The queries of a stream's state, each `SELECT to_jsonb(…) AS row`, with its entity. */
function stateQueries(stream: StreamName): [entity: string, sql: string][] {
  return stream.startsWith('conversation:')
    ? [
        ['conversation', 'SELECT to_jsonb(c) AS row FROM conversations c WHERE id = $1'],
        [
          'conversation_member',
          'SELECT to_jsonb(m) AS row FROM conversation_members m WHERE conversation_id = $1',
        ],
        ['message', 'SELECT to_jsonb(m) AS row FROM messages m WHERE conversation_id = $1'],
        [
          'read_receipt',
          'SELECT to_jsonb(r) AS row FROM read_receipts r WHERE conversation_id = $1',
        ],
      ]
    : [
        ['workspace', 'SELECT to_jsonb(w) AS row FROM workspaces w WHERE id = $1'],
        [
          'workspace_member',
          'SELECT to_jsonb(m) AS row FROM workspace_members m WHERE workspace_id = $1',
        ],
        [
          'sync_file',
          'SELECT to_jsonb(f) AS row FROM sync_files f WHERE workspace_id = $1 AND NOT deleted',
        ],
      ];
}

interface Queryable {
  query<R extends object>(sql: string, values: unknown[]): Promise<{ rows: R[] }>;
}

/** A stream's state as the database has it, read with one query per table. */
async function readState(db: Queryable, stream: StreamName): Promise<State> {
  const id = stream.slice(stream.indexOf(':') + 1);
  const state: State = new Map();
  for (const [entity, query] of stateQueries(stream)) {
    const { rows } = await db.query<{ row: Row }>(query, [id]);
    for (const { row } of rows) put(state, entity, camel(row));
  }
  return state;
}

async function readHead(db: Queryable, stream: StreamName): Promise<number> {
  const { rows } = await db.query<{ head: string }>(
    'SELECT head FROM stream_heads WHERE stream = $1',
    [stream],
  );
  return Number(rows[0]?.head ?? 0);
}

// ---------------------------------------------------------------------------------------------
// The plan: concurrent writers, and when the reader takes each stream's snapshot.

type OpKind =
  | 'send'
  | 'edit'
  | 'delete'
  | 'add_member'
  | 'remove_member'
  | 'read'
  | 'rename'
  | 'file_create'
  | 'file_update'
  | 'file_move'
  | 'file_delete';

interface Op {
  readonly kind: OpKind;
  /** Chooses the message, member, file, path or content the op is about. */
  readonly pick: number;
  /** Waits this long before the op. */
  readonly delayMs: number;
  /** Over REST rather than the writer's socket. */
  readonly viaRest: boolean;
}

interface Plan {
  readonly writers: readonly (readonly Op[])[];
  /** When (ms from the start) the reader takes each stream's snapshot. */
  readonly conversationAtMs: number;
  readonly workspaceAtMs: number;
  /** How long a reader that reads in steps waits between state and head. */
  readonly gapMs: number;
}

const opArb: fc.Arbitrary<Op> = fc.record({
  kind: fc.constantFrom<OpKind>(
    'send',
    'send',
    'edit',
    'delete',
    'add_member',
    'remove_member',
    'read',
    'rename',
    'file_create',
    'file_update',
    'file_update',
    'file_move',
    'file_delete',
  ),
  pick: fc.nat(1000),
  delayMs: fc.integer({ min: 0, max: 12 }),
  viaRest: fc.boolean(),
});

const planArb = (minOps: number): fc.Arbitrary<Plan> =>
  fc.record({
    writers: fc.array(fc.array(opArb, { minLength: minOps, maxLength: minOps + 6 }), {
      minLength: 2,
      maxLength: 4,
    }),
    conversationAtMs: fc.integer({ min: 0, max: 80 }),
    workspaceAtMs: fc.integer({ min: 0, max: 80 }),
    gapMs: fc.integer({ min: 2, max: 25 }),
  });

const PATHS = ['a.txt', 'b.txt', 'docs/c.md', 'docs/d.md', 'e'];
const CONTENTS = ['zero', 'one', 'two', 'three'];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A writer: a device, its socket and its REST client. */
interface Writer {
  readonly device: TestDevice;
  readonly socket: TestClient;
  readonly http: DeviceHttp;
}

/** Everything the runs share: one server, the users, their sockets. */
interface World {
  readonly server: SyncServer;
  readonly database: TestDatabase;
  readonly writers: readonly Writer[];
  /** Users who are added and removed (never writers, never the reader). */
  readonly extras: readonly string[];
  readonly reader: { readonly http: DeviceHttp; readonly socket: TestClient };
  readonly contentHashes: readonly string[];
}

/** What the writers of one run know (from their answers), to aim their next op. */
interface Knowledge {
  readonly conversationId: string;
  readonly workspaceId: string;
  /** Message ids by author. */
  readonly messages: Map<string, string[]>;
  /** Files as last seen: id → version (from answers, conflicts included). */
  readonly files: Map<string, number>;
  seq: number;
  /** Every refusal: only `conflict` is expected. */
  readonly refusals: string[];
}

async function write<E extends WriteEventName>(
  writer: Writer,
  viaRest: boolean,
  event: E,
  payload: WritePayloads[E][0],
  known: Knowledge,
): Promise<Ack<WritePayloads[E][1]> | undefined> {
  const ack = viaRest
    ? await writer.http.perform(event, payload)
    : ((await writer.socket.emitWithAck(event, payload as never, {
        timeout: 10_000,
      })) as Ack<WritePayloads[E][1]>);
  if (!ack.ok) {
    if (ack.error.code !== 'conflict') {
      known.refusals.push(`${event} ${JSON.stringify(payload)}: ${JSON.stringify(ack.error)}`);
    }
    return ack;
  }
  return ack;
}

function fileAnswer(known: Knowledge, ack: Ack<FilePushResult> | undefined): void {
  if (!ack) return;
  const file = ack.ok ? ack.file : undefined;
  const current = ack.ok ? undefined : ack.error.current;
  if (file) {
    if (file.deleted) known.files.delete(file.id);
    else known.files.set(file.id, file.version);
  } else if (current) {
    if (current.deleted) known.files.delete(current.fileId);
    else known.files.set(current.fileId, current.version);
  }
}

async function runOp(
  world: World,
  w: number,
  step: number,
  op: Op,
  known: Knowledge,
): Promise<void> {
  const writer = world.writers[w % world.writers.length]!;
  const { conversationId, workspaceId } = known;
  const mine = known.messages.get(writer.device.userId) ?? [];
  const fileIds = [...known.files.keys()];
  const hash = world.contentHashes[op.pick % world.contentHashes.length]!;
  const via = op.viaRest;
  const send = async () => {
    const ack = await write(
      writer,
      via,
      'message:send',
      {
        conversationId,
        clientId: `${conversationId}/w${w}/s${step}`,
        body: `from ${w} at ${step}`,
      },
      known,
    );
    if (ack?.ok) {
      known.messages.set(writer.device.userId, [...mine, ack.id]);
      known.seq = Math.max(known.seq, ack.seq);
    }
  };
  const push = async (change: FilePushPayload) =>
    fileAnswer(known, await write(writer, via, 'file:push', change, known));
  switch (op.kind) {
    case 'send':
      return send();
    case 'edit':
    case 'delete': {
      if (mine.length === 0) return send();
      const messageId = mine[op.pick % mine.length]!;
      if (op.kind === 'edit') {
        await write(writer, via, 'message:edit', { messageId, body: `edit ${w}.${step}` }, known);
      } else {
        await write(writer, via, 'message:delete', { messageId }, known);
      }
      return;
    }
    case 'add_member':
    case 'remove_member': {
      const userId = world.extras[op.pick % world.extras.length]!;
      const event =
        op.kind === 'add_member' ? 'conversation:add_member' : 'conversation:remove_member';
      // Workspaces get the same member changes every other time.
      if (op.pick % 2 === 0) {
        const wsEvent =
          op.kind === 'add_member' ? 'workspace:add_member' : 'workspace:remove_member';
        await write(writer, via, wsEvent, { workspaceId, userId }, known);
      } else {
        await write(writer, via, event, { conversationId, userId }, known);
      }
      return;
    }
    case 'read':
      await write(
        writer,
        via,
        'receipt:read',
        { conversationId, seq: known.seq === 0 ? 0 : op.pick % (known.seq + 1) },
        known,
      );
      return;
    case 'rename':
      await write(
        writer,
        via,
        'conversation:update',
        { conversationId, title: `title ${w}.${step}` },
        known,
      );
      return;
    case 'file_create':
      return push({
        op: 'create',
        workspaceId,
        path: PATHS[op.pick % PATHS.length]!,
        contentHash: hash,
      });
    case 'file_update':
    case 'file_move':
    case 'file_delete': {
      if (fileIds.length === 0) {
        return push({
          op: 'create',
          workspaceId,
          path: PATHS[op.pick % PATHS.length]!,
          contentHash: hash,
        });
      }
      const fileId = fileIds[op.pick % fileIds.length]!;
      const base = { workspaceId, fileId, baseVersion: known.files.get(fileId)! };
      return push(
        op.kind === 'file_update'
          ? { op: 'update', ...base, contentHash: hash }
          : op.kind === 'file_move'
            ? { op: 'move', ...base, path: PATHS[(op.pick >> 3) % PATHS.length]! }
            : { op: 'delete', ...base },
      );
    }
  }
}

/** How the reader takes a stream's state and the seq it corresponds to. */
type SnapshotReader = (
  world: World,
  stream: StreamName,
  gapMs: number,
) => Promise<{ seq: number; state: State }>;

/** The product: `GET /v1/streams/:stream/snapshot`. */
const restSnapshot: SnapshotReader = async (world, stream) => {
  const snapshot = await world.reader.http.snapshot(stream, 200);
  expect(snapshot.stream).toBe(stream);
  return { seq: snapshot.seq, state: fromSnapshot(snapshot) };
};

/**
 * The naive ways, each read its own READ COMMITTED statement. The head, then the state (what
 * `readSnapshot` would do without its transaction): a change that commits in between is in the
 * state and comes again after the seq, on top of a state that already has it.
 */
const headThenState: SnapshotReader = async (world, stream) => {
  const seq = await readHead(world.database.pool, stream);
  return { seq, state: await readState(world.database.pool, stream) };
};

/** The state, then (a moment later) the head: a change that commits in between is lost. */
const stateThenHead: SnapshotReader = async (world, stream, gapMs) => {
  const state = await readState(world.database.pool, stream);
  await sleep(gapMs);
  return { seq: await readHead(world.database.pool, stream), state };
};

/** The same reads with the same pause, in one REPEATABLE READ transaction: correct. */
const repeatableReadSnapshot: SnapshotReader = async (world, stream, gapMs) => {
  const client = await world.database.pool.connect();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const state = await readState(client, stream);
    await sleep(gapMs);
    const seq = await readHead(client, stream);
    await client.query('COMMIT');
    return { seq, state };
  } finally {
    client.release();
  }
};

/** What the reader took for one stream. */
interface Taken {
  readonly stream: StreamName;
  readonly seq: number;
  readonly state: State;
}

/**
 * One run: the writers write (sockets and REST, random ops, random pauses) while the reader,
 * at a random moment per stream, takes the snapshot and subscribes with `since: seq`. After a
 * last write per stream, once the reader has that seq:
 * (a) it received every seq in (snapshot.seq, head] exactly once, in order, and nothing at or
 *     below snapshot.seq;
 * (b) the snapshot with the received changes applied is the database's state at the end;
 * (c) the snapshot is exactly the state the change log describes at snapshot.seq.
 */
async function snapshotThenSubscribe(
  world: World,
  plan: Plan,
  takeSnapshot: SnapshotReader,
): Promise<void> {
  const [creator, ...others] = world.writers;
  const members = [...new Set(others.map((writer) => writer.device.userId))];
  const conversation = await creator!.http.perform('conversation:create', {
    clientId: `c-${Math.random().toString(36).slice(2)}`,
    title: 'start',
    memberIds: members,
  });
  const workspace = await creator!.http.perform('workspace:create', {
    clientId: `w-${Math.random().toString(36).slice(2)}`,
    name: 'start',
    memberIds: members,
  });
  if (!conversation.ok || !workspace.ok) throw new Error('conversation or workspace not created');
  // A file may only name content uploaded into its own workspace (same bytes, same hashes).
  await Promise.all(CONTENTS.map((text) => creator!.http.uploaded(workspace.id, text)));
  const known: Knowledge = {
    conversationId: conversation.id,
    workspaceId: workspace.id,
    messages: new Map(),
    files: new Map(),
    seq: conversation.seq,
    refusals: [],
  };
  const streams: StreamName[] = [
    streamName('conversation', conversation.id),
    streamName('workspace', workspace.id),
  ];
  const { socket } = world.reader;
  const taken: Taken[] = [];
  try {
    const take = async (stream: StreamName, atMs: number) => {
      await sleep(atMs);
      const { seq, state } = await takeSnapshot(world, stream, plan.gapMs);
      taken.push({ stream, seq, state });
      const ack = await socket.emitWithAck('subscribe', { stream, since: seq });
      if (!ack.ok) throw new Error(`subscribe ${stream} since ${seq}: ${ack.error.message}`);
    };
    await Promise.all([
      ...plan.writers.map(async (ops, w) => {
        for (const [step, op] of ops.entries()) {
          if (op.delayMs > 0) await sleep(op.delayMs);
          await runOp(world, w, step, op, known);
        }
      }),
      take(streams[0]!, plan.conversationAtMs),
      take(streams[1]!, plan.workspaceAtMs),
    ]);
    expect(known.refusals).toEqual([]);
    // A last change per stream, after everything: once the reader has it, it has caught up.
    const last = creator!.http;
    const sentinels = await Promise.all([
      last.perform('message:send', {
        conversationId: known.conversationId,
        clientId: `sentinel-${known.conversationId}`,
        body: 'last',
      }),
      last.perform('file:push', {
        op: 'create',
        workspaceId: known.workspaceId,
        path: 'sentinel',
        contentHash: world.contentHashes[0]!,
      }),
    ]);
    expect(sentinels.map((ack) => ack.ok)).toEqual([true, true]);

    for (const { stream, seq, state } of taken) {
      const head = await readHead(world.database.pool, stream);
      const expected = Array.from({ length: head - seq }, (_, i) => seq + 1 + i);
      // (a)
      const failure = await socket.checkDelivery(stream, expected, { timeout: 10_000 });
      expect(failure, `${stream} after snapshot seq ${seq}`).toBeUndefined();
      // (c)
      const logged = await readChanges(world.database.db, stream, 0, seq);
      expect(logged.map((change) => change.seq)).toEqual(
        Array.from({ length: seq }, (_, i) => i + 1),
      );
      expect(sorted(state), `${stream}: the snapshot at seq ${seq}`).toEqual(
        sorted(replay(logged)),
      );
      // (b)
      const reached = new Map(state);
      for (const { change } of socket.changes(stream)) apply(reached, change);
      expect(sorted(reached), `${stream}: snapshot + changes`).toEqual(
        sorted(await readState(world.database.pool, stream)),
      );
    }
  } finally {
    for (const stream of streams) {
      if (socket.state === 'connected') await socket.emitWithAck('unsubscribe', { stream });
    }
  }
}

async function withWorld(
  startServer: (env: Readonly<Record<string, string>>) => Promise<SyncServer>,
  database: TestDatabase,
  run: (world: World) => Promise<void>,
): Promise<void> {
  const server = await startServer(UNLIMITED);
  const [a1, reader] = await userWithDevices(database.db, 2);
  const [b1] = await userWithDevices(database.db, 1);
  const [c1] = await userWithDevices(database.db, 1);
  const extraIds = await Promise.all([1, 2].map(async () => (await createUser(database.db)).id));
  const sockets: TestClient[] = [];
  const connect = async (device: TestDevice) => {
    const socket = await TestClient.connect({ url: server.url, token: device.token });
    sockets.push(socket);
    return socket;
  };
  try {
    const writers = await Promise.all(
      [a1!, b1!, c1!].map(async (device) => ({
        device,
        socket: await connect(device),
        http: new DeviceHttp(server.url, device),
      })),
    );
    // The contents' hashes; each run's workspace uploads the same bytes again (stored once).
    const scratch = await writers[0]!.http.createWorkspace('contents');
    const contentHashes = await Promise.all(
      CONTENTS.map((text) => writers[0]!.http.uploaded(scratch.id, text)),
    );
    await run({
      server,
      database,
      writers,
      extras: extraIds,
      reader: { http: new DeviceHttp(server.url, reader!), socket: await connect(reader!) },
      contentHashes,
    });
  } finally {
    for (const socket of sockets) socket.close();
  }
}

describe('snapshot, then subscribe with since = its seq', () => {
  test(
    'misses nothing and repeats nothing, and the snapshot plus the changes is the database (REST snapshot, concurrent writers)',
    { timeout: 120_000 },
    async ({ startServer, database }) => {
      await withWorld(startServer, database, async (world) => {
        await fc.assert(
          fc.asyncProperty(planArb(2), (plan) => snapshotThenSubscribe(world, plan, restSnapshot)),
          { numRuns: 20 },
        );
      });
    },
  );

  test(
    'holds for state and head read with a pause between them inside one REPEATABLE READ transaction',
    { timeout: 120_000 },
    async ({ startServer, database }) => {
      await withWorld(startServer, database, async (world) => {
        await fc.assert(
          fc.asyncProperty(planArb(4), (plan) =>
            snapshotThenSubscribe(world, plan, repeatableReadSnapshot),
          ),
          { numRuns: 6 },
        );
      });
    },
  );

  test(
    'fails when state and head are read in two READ COMMITTED statements, in either order (the naive snapshot)',
    { timeout: 120_000 },
    async ({ startServer, database }) => {
      await withWorld(startServer, database, async (world) => {
        // Each order fails in over half the runs (measured: 11–16 of 20): 20 runs all passing
        // would take odds of about 1 in 10^7.
        const result = await fc.check(
          fc.asyncProperty(planArb(2), fc.boolean(), (plan, headFirst) =>
            snapshotThenSubscribe(world, plan, headFirst ? headThenState : stateThenHead),
          ),
          { numRuns: 20, endOnFailure: true },
        );
        expect(result.failed).toBe(true);
        // It fails on the snapshot's state or the delivery after it (the checks labelled with
        // the snapshot), not because a write or something else failed.
        expect(result.errorInstance).toMatchObject({
          name: 'AssertionError',
          message: expect.stringMatching(/snapshot/),
        });
      });
    },
  );
});
