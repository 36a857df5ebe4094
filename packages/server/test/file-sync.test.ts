import { readChanges } from '@ccs/db';
import {
  isChangeOf,
  streamName,
  type Ack,
  type ChangeEvent,
  type ErrorCode,
  type FilePushPayload,
  type FilePushResult,
  type FileVersion,
  type StreamName,
  type SyncFileData,
  type WireError,
  type WorkspaceSnapshot,
} from '@ccs/protocol';
import { TestClient } from '@ccs/test-clients';
import type { TestDatabase } from '@ccs/test-env/vitest';
import { describe, expect } from 'vitest';
import { test } from './server-fixtures.js';
import { UNLIMITED } from './rest-client.js';
import {
  DeviceHttp,
  sha256,
  userWithDevices,
  type HttpAnswer,
  type TestDevice,
} from './file-sync-client.js';

const connect = (url: string, device: TestDevice): Promise<TestClient> =>
  TestClient.connect({ url, token: device.token });

/** Alice (two devices) and Bob share a workspace; Olga is not in it. */
interface WorkspaceScenario {
  readonly workspaceId: string;
  readonly stream: StreamName;
  readonly alice: DeviceHttp;
  readonly alice2: DeviceHttp;
  readonly bob: DeviceHttp;
  readonly olga: DeviceHttp;
}

async function workspaceScenario(database: TestDatabase, url: string): Promise<WorkspaceScenario> {
  const [a1, a2] = await userWithDevices(database.db, 2);
  const [b1] = await userWithDevices(database.db, 1);
  const [o1] = await userWithDevices(database.db, 1);
  const alice = new DeviceHttp(url, a1!);
  const bob = new DeviceHttp(url, b1!);
  const { id: workspaceId } = await alice.createWorkspace('docs', [b1!.userId]);
  return {
    workspaceId,
    stream: streamName('workspace', workspaceId),
    alice,
    alice2: new DeviceHttp(url, a2!),
    bob,
    olga: new DeviceHttp(url, o1!),
  };
}

async function count(database: TestDatabase, query: string, values: unknown[]): Promise<number> {
  const { rows } = await database.pool.query<{ n: number }>(query, values);
  return rows[0]!.n;
}

const contentRows = (database: TestDatabase, hash?: string): Promise<number> =>
  hash === undefined
    ? count(database, 'SELECT count(*)::int AS n FROM file_contents', [])
    : count(database, 'SELECT count(*)::int AS n FROM file_contents WHERE hash = $1', [hash]);

async function streamHead(database: TestDatabase, stream: StreamName): Promise<number> {
  const { rows } = await database.pool.query<{ head: string }>(
    'SELECT head FROM stream_heads WHERE stream = $1',
    [stream],
  );
  return Number(rows[0]?.head ?? 0);
}

/** The push answered 200; returns its result. */
function applied(answer: HttpAnswer<FilePushResult | WireError>): FilePushResult {
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return answer.body as FilePushResult;
}

/** The push answered `conflict` (409); returns the file version it carried. */
function conflicted(answer: HttpAnswer<FilePushResult | WireError>): FileVersion | undefined {
  expect(answer.status, JSON.stringify(answer.body)).toBe(409);
  const error = answer.body as WireError;
  expect(error.code).toBe('conflict');
  expect(error.message).toEqual(expect.any(String));
  return error.current;
}

const versionOf = (file: SyncFileData): FileVersion => ({
  fileId: file.id,
  path: file.path,
  version: file.version,
  contentHash: file.contentHash,
  deleted: file.deleted,
});

/** A socket `file:push` answered as REST answers it, to compare both ways in one shape. */
async function pushOverSocket(
  client: TestClient,
  change: FilePushPayload,
): Promise<HttpAnswer<FilePushResult | WireError>> {
  const ack = (await client.emitWithAck('file:push', change)) as Ack<FilePushResult>;
  const status: Partial<Record<ErrorCode, number>> = {
    conflict: 409,
    not_found: 404,
    forbidden: 403,
    invalid_payload: 400,
  };
  return {
    status: ack.ok ? 200 : (status[ack.error.code] ?? 500),
    body: ack.ok ? { file: ack.file, stream: ack.stream, seq: ack.seq } : ack.error,
    headers: {},
  };
}

describe('file contents (PUT/GET /v1/workspaces/:id/contents/:hash)', () => {
  test('refuses bytes whose SHA-256 is not the hash they are uploaded under, storing nothing', async ({
    server,
    database,
  }) => {
    const { workspaceId, alice } = await workspaceScenario(database, server.url);
    const answer = await alice.upload(workspaceId, 'hello', sha256('goodbye'));
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ code: 'invalid_payload' });
    expect((answer.body as WireError).message).toContain(sha256('hello'));
    expect(await contentRows(database)).toBe(0);
  });

  test('stores the same bytes once, however often and into whichever workspace they are uploaded', async ({
    server,
    database,
  }) => {
    const { workspaceId, alice, bob } = await workspaceScenario(database, server.url);
    const other = await bob.createWorkspace('elsewhere');
    const hash = sha256('same bytes');
    for (const [device, workspace] of [
      [alice, workspaceId],
      [bob, workspaceId],
      [bob, other.id],
    ] as const) {
      const answer = await device.upload(workspace, 'same bytes');
      expect(answer.status).toBe(200);
      expect(answer.body).toEqual({ hash, sizeBytes: 10 });
    }
    // Uppercase hex names the same content.
    expect((await alice.upload(workspaceId, 'same bytes', hash.toUpperCase())).status).toBe(200);
    expect(await contentRows(database, hash)).toBe(1);
    expect(await contentRows(database)).toBe(1);
  });

  test('refuses content over CCS_MAX_FILE_BYTES with 413 naming the limit, and stores nothing; the limit itself fits', async ({
    startServer,
    database,
  }) => {
    // Above fastify's default body limit (1 MiB), so the configured limit is the one that counts.
    const limit = 1_500_000;
    const server = await startServer({ CCS_MAX_FILE_BYTES: String(limit) });
    const { workspaceId, alice } = await workspaceScenario(database, server.url);
    const refused = await alice.upload(workspaceId, Buffer.alloc(limit + 1, 7));
    expect(refused.status).toBe(413);
    expect(refused.body).toMatchObject({ code: 'invalid_payload' });
    expect((refused.body as WireError).message).toContain(`${limit} bytes`);
    expect(await contentRows(database)).toBe(0);

    const fits = Buffer.alloc(limit, 7);
    const stored = await alice.upload(workspaceId, fits);
    expect(stored.status).toBe(200);
    expect(stored.body).toEqual({ hash: sha256(fits), sizeBytes: limit });
    expect(await contentRows(database)).toBe(1);
  });

  test('serves content to members only, and only the content a file of the workspace uses', async ({
    server,
    database,
  }) => {
    const { workspaceId, alice, alice2, bob, olga } = await workspaceScenario(database, server.url);
    const bytes = Buffer.from([0, 1, 2, 255, 254, 0x0a, 0x0d]);
    const hash = sha256(bytes);
    expect((await alice.upload(workspaceId, bytes)).status).toBe(200);
    // Uploaded, but no file uses it yet.
    expect((await alice.download(workspaceId, hash)).status).toBe(404);
    applied(await alice.push({ op: 'create', workspaceId, path: 'bin/blob', contentHash: hash }));

    for (const member of [alice, alice2, bob]) {
      const answer = await member.download(workspaceId, hash);
      expect(answer.status).toBe(200);
      expect(answer.headers['content-type']).toBe('application/octet-stream');
      expect(answer.headers.etag).toBe(`"${hash}"`);
      expect(Buffer.compare(answer.body as Buffer, bytes)).toBe(0);
    }

    const unused = sha256('never used');
    expect((await alice.upload(workspaceId, 'never used')).status).toBe(200);
    const notFound = await alice.download(workspaceId, unused);
    expect(notFound.status).toBe(404);
    expect(notFound.body).toMatchObject({ code: 'not_found' });

    // Content a file of another workspace uses is not this workspace's.
    const other = await olga.createWorkspace('olga’s');
    const secret = await olga.uploaded(other.id, 'olga only');
    applied(
      await olga.push({ op: 'create', workspaceId: other.id, path: 's', contentHash: secret }),
    );
    expect((await alice.download(workspaceId, secret)).status).toBe(404);

    const forbidden = await olga.download(workspaceId, hash);
    expect(forbidden.status).toBe(403);
    expect(forbidden.body).toMatchObject({ code: 'forbidden' });
    expect((await olga.upload(workspaceId, 'intruder')).status).toBe(403);
    expect(await contentRows(database, sha256('intruder'))).toBe(0);
  });
});

describe('file changes (POST /v1/workspaces/:id/files, socket file:push)', () => {
  test('create, update, move and delete each apply against the version they name, and each is one change on the workspace stream', async ({
    server,
    clients,
    database,
  }) => {
    const { workspaceId, stream, alice, alice2, bob } = await workspaceScenario(
      database,
      server.url,
    );
    const watcher = await clients.connect(alice2.device.token);
    const subscribed = await watcher.emitWithAck('subscribe', { stream });
    if (!subscribed.ok) throw new Error(subscribed.error.message);
    const { head } = subscribed;
    const v1 = await alice.uploaded(workspaceId, 'first draft');
    const v2 = await alice.uploaded(workspaceId, 'second draft, longer');

    const created = applied(
      await alice.push({ op: 'create', workspaceId, path: 'notes/today.md', contentHash: v1 }),
    );
    expect(created.stream).toBe(stream);
    expect(created.seq).toBe(head + 1);
    expect(created.file).toMatchObject({
      workspaceId,
      path: 'notes/today.md',
      contentHash: v1,
      sizeBytes: 11,
      version: 1,
      deleted: false,
      updatedByDeviceId: alice.device.deviceId,
    });
    const fileId = created.file.id;

    const updated = applied(
      await bob.push({ op: 'update', workspaceId, fileId, baseVersion: 1, contentHash: v2 }),
    );
    expect(updated.seq).toBe(head + 2);
    expect(updated.file).toMatchObject({
      id: fileId,
      path: 'notes/today.md',
      contentHash: v2,
      sizeBytes: 20,
      version: 2,
      updatedByDeviceId: bob.device.deviceId,
    });

    const bobSocket = await clients.connect(bob.device.token);
    const moved = await pushOverSocket(bobSocket, {
      op: 'move',
      workspaceId,
      fileId,
      baseVersion: 2,
      path: 'archive/2024/today.md',
    });
    expect(applied(moved).file).toMatchObject({
      path: 'archive/2024/today.md',
      contentHash: v2,
      version: 3,
      deleted: false,
    });

    const deleted = applied(
      await alice.push({ op: 'delete', workspaceId, fileId, baseVersion: 3 }),
    );
    expect(deleted.file).toMatchObject({
      version: 4,
      deleted: true,
      path: 'archive/2024/today.md',
    });
    expect(deleted.seq).toBe(head + 4);

    const results = [created, updated, applied(moved), deleted];
    await watcher.expectReceivedOnce(
      stream,
      results.map((result) => result.seq),
    );
    const changes = watcher.changes(stream).map(({ change }) => change);
    expect(changes.map((change) => change.kind)).toEqual([
      'sync_file.created',
      'sync_file.updated',
      'sync_file.updated',
      'sync_file.updated',
    ]);
    expect(changes.map((change) => change.data)).toEqual(results.map((result) => result.file));
    expect(await streamHead(database, stream)).toBe(head + 4);

    // The path is free again once its file is deleted: a new file, at version 1.
    const again = applied(
      await alice.push({
        op: 'create',
        workspaceId,
        path: 'archive/2024/today.md',
        contentHash: v1,
      }),
    );
    expect(again.file.id).not.toBe(fileId);
    expect(again.file.version).toBe(1);
  });

  test('a change against a version that is no longer current is a conflict carrying the file as it is, and writes nothing', async ({
    server,
    clients,
    database,
  }) => {
    const { workspaceId, stream, alice, bob } = await workspaceScenario(database, server.url);
    const v1 = await alice.uploaded(workspaceId, 'one');
    const v2 = await alice.uploaded(workspaceId, 'two');
    const created = applied(
      await alice.push({ op: 'create', workspaceId, path: 'a.txt', contentHash: v1 }),
    );
    const fileId = created.file.id;
    const current = applied(
      await alice.push({ op: 'update', workspaceId, fileId, baseVersion: 1, contentHash: v2 }),
    ).file;
    const head = await streamHead(database, stream);
    const bobSocket = await clients.connect(bob.device.token);

    const stale: FilePushPayload[] = [
      { op: 'update', workspaceId, fileId, baseVersion: 1, contentHash: v1 },
      { op: 'move', workspaceId, fileId, baseVersion: 1, path: 'b.txt' },
      { op: 'delete', workspaceId, fileId, baseVersion: 1 },
      // A version from the future is no better.
      { op: 'update', workspaceId, fileId, baseVersion: 3, contentHash: v1 },
    ];
    for (const change of stale) {
      expect(conflicted(await bob.push(change))).toEqual(versionOf(current));
      expect(conflicted(await pushOverSocket(bobSocket, change))).toEqual(versionOf(current));
    }
    expect(await streamHead(database, stream)).toBe(head);

    const gone = applied(await alice.push({ op: 'delete', workspaceId, fileId, baseVersion: 2 }));
    for (const baseVersion of [2, 3]) {
      const version = conflicted(
        await bob.push({ op: 'update', workspaceId, fileId, baseVersion, contentHash: v1 }),
      );
      expect(version).toEqual({ ...versionOf(gone.file), deleted: true });
    }
    // Deleting a deleted file is a conflict too, not a second change.
    expect(
      conflicted(await bob.push({ op: 'delete', workspaceId, fileId, baseVersion: 3 })),
    ).toEqual(versionOf(gone.file));
    expect(await streamHead(database, stream)).toBe(head + 1);
  });

  test('creating a file on a path a live file has is a conflict carrying that file', async ({
    server,
    database,
  }) => {
    const { workspaceId, stream, alice, bob } = await workspaceScenario(database, server.url);
    const v1 = await alice.uploaded(workspaceId, 'mine');
    const v2 = await bob.uploaded(workspaceId, 'yours');
    const mine = applied(
      await alice.push({ op: 'create', workspaceId, path: 'shared/plan.md', contentHash: v1 }),
    );
    const head = await streamHead(database, stream);
    const current = conflicted(
      await bob.push({ op: 'create', workspaceId, path: 'shared/plan.md', contentHash: v2 }),
    );
    expect(current).toEqual(versionOf(mine.file));
    expect(await streamHead(database, stream)).toBe(head);
  });

  test('moving a file onto a path a live file has is a conflict carrying that file', async ({
    server,
    database,
  }) => {
    const { workspaceId, stream, alice, bob } = await workspaceScenario(database, server.url);
    const v1 = await alice.uploaded(workspaceId, 'first');
    const first = applied(
      await alice.push({ op: 'create', workspaceId, path: 'a', contentHash: v1 }),
    );
    const second = applied(
      await alice.push({ op: 'create', workspaceId, path: 'b', contentHash: v1 }),
    );
    const head = await streamHead(database, stream);
    const current = conflicted(
      await bob.push({
        op: 'move',
        workspaceId,
        fileId: second.file.id,
        baseVersion: 1,
        path: 'a',
      }),
    );
    expect(current).toEqual(versionOf(first.file));
    expect(await streamHead(database, stream)).toBe(head);
    // Moving a file where it already is, is a change like any other.
    const stay = applied(
      await bob.push({ op: 'move', workspaceId, fileId: first.file.id, baseVersion: 1, path: 'a' }),
    );
    expect(stay.file).toMatchObject({ path: 'a', version: 2 });
  });

  test('a change naming content never uploaded, or a file that does not exist, is not_found; a non-member is forbidden', async ({
    server,
    clients,
    database,
  }) => {
    const { workspaceId, stream, alice, olga } = await workspaceScenario(database, server.url);
    const v1 = await alice.uploaded(workspaceId, 'known');
    const file = applied(
      await alice.push({ op: 'create', workspaceId, path: 'known', contentHash: v1 }),
    ).file;
    const head = await streamHead(database, stream);
    const missing = sha256('never uploaded');
    const socket = await clients.connect(alice.device.token);
    const notFound: FilePushPayload[] = [
      { op: 'create', workspaceId, path: 'new', contentHash: missing },
      { op: 'update', workspaceId, fileId: file.id, baseVersion: 1, contentHash: missing },
      {
        op: 'update',
        workspaceId,
        fileId: '00000000-0000-4000-8000-000000000000',
        baseVersion: 1,
        contentHash: v1,
      },
    ];
    for (const change of notFound) {
      for (const answer of [await alice.push(change), await pushOverSocket(socket, change)]) {
        expect(answer.status, JSON.stringify(answer.body)).toBe(404);
        expect(answer.body).toMatchObject({ code: 'not_found' });
      }
    }
    const { message } = (await alice.push(notFound[0]!)).body as WireError;
    expect(message).toContain(missing);

    const intruder = await olga.push({
      op: 'delete',
      workspaceId,
      fileId: file.id,
      baseVersion: 1,
    });
    expect(intruder.status).toBe(403);
    expect(intruder.body).toMatchObject({ code: 'forbidden' });
    expect(await streamHead(database, stream)).toBe(head);

    const bad = await alice.push({
      op: 'create',
      workspaceId,
      path: '../escape',
      contentHash: v1,
    });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ code: 'invalid_payload' });
  });

  test('content uploaded only into another workspace cannot be named: knowing its hash gives neither a file nor the bytes', async ({
    server,
    database,
  }) => {
    const { workspaceId, stream, alice } = await workspaceScenario(database, server.url);
    const [o1] = await userWithDevices(database.db, 1);
    const olga = new DeviceHttp(server.url, o1!);
    const theirs = await olga.createWorkspace('olga’s');
    const secret = await olga.uploaded(theirs.id, 'olga’s diary');
    applied(
      await olga.push({ op: 'create', workspaceId: theirs.id, path: 'diary', contentHash: secret }),
    );
    const head = await streamHead(database, stream);

    // The answer is the same as for content nobody uploaded: it tells nothing of other workspaces.
    const claimed = await alice.push({ op: 'create', workspaceId, path: 'x', contentHash: secret });
    expect(claimed.status).toBe(404);
    expect(claimed.body).toMatchObject({ code: 'not_found' });
    expect((claimed.body as WireError).message).toContain(
      `not uploaded to workspace ${workspaceId}`,
    );
    expect((await alice.download(workspaceId, secret)).status).toBe(404);
    expect(await streamHead(database, stream)).toBe(head);

    // Uploading the same bytes itself is what gives the workspace the right to use them.
    expect(await alice.uploaded(workspaceId, 'olga’s diary')).toBe(secret);
    applied(await alice.push({ op: 'create', workspaceId, path: 'x', contentHash: secret }));
    expect(await contentRows(database, secret)).toBe(1);
  });

  test('a workspace snapshot carries the live files at the stream head, and only for members', async ({
    server,
    database,
  }) => {
    const { workspaceId, stream, alice, bob, olga } = await workspaceScenario(database, server.url);
    const v1 = await alice.uploaded(workspaceId, 'x');
    const kept = applied(
      await alice.push({ op: 'create', workspaceId, path: 'z', contentHash: v1 }),
    );
    const dropped = applied(
      await alice.push({ op: 'create', workspaceId, path: 'y', contentHash: v1 }),
    );
    const last = applied(
      await bob.push({ op: 'delete', workspaceId, fileId: dropped.file.id, baseVersion: 1 }),
    );
    const snapshot = await bob.snapshot<WorkspaceSnapshot>(stream);
    expect(snapshot.stream).toBe(stream);
    expect(snapshot.seq).toBe(last.seq);
    expect(snapshot.workspace).toMatchObject({ id: workspaceId, name: 'docs' });
    expect(snapshot.members.map((member) => member.userId).sort()).toEqual(
      [alice.device.userId, bob.device.userId].sort(),
    );
    expect(snapshot.files).toEqual([kept.file]);
    const refused = await olga.request('GET', `/streams/${stream}/snapshot`);
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ code: 'forbidden' });
  });
});

/** Pushes the change from two devices at once; answers both results. */
type Pusher = (change: FilePushPayload) => Promise<HttpAnswer<FilePushResult | WireError>>;

/**
 * Two devices push an update of one file against the same version at the same moment, `rounds`
 * times. Each round exactly one applies; the other is a conflict carrying the winner's version.
 * A third device subscribed to the workspace gets every applied change once, in seq order, and
 * nothing of the losers.
 */
async function raceUpdates(
  database: TestDatabase,
  scenario: WorkspaceScenario,
  watcher: TestClient,
  pushers: readonly [Pusher, Pusher],
  rounds: number,
): Promise<void> {
  const { workspaceId, stream, alice } = scenario;
  const base = await alice.uploaded(workspaceId, 'base');
  const file = applied(
    await alice.push({ op: 'create', workspaceId, path: 'contended.txt', contentHash: base }),
  ).file;
  const ack = await watcher.emitWithAck('subscribe', { stream, since: 0 });
  expect(ack.ok).toBe(true);
  const before = await streamHead(database, stream);
  // Each round's two contents, uploaded first: a round is then only the two pushes.
  const contents = await Promise.all(
    Array.from({ length: rounds }, async (_, round) => {
      const hashes = [`left ${round}`, `right ${round}`].map((text) =>
        alice.uploaded(workspaceId, text),
      );
      return Promise.all(hashes);
    }),
  );
  const winners: FilePushResult[] = [];
  const losingHashes: string[] = [];
  let version = file.version;
  for (let round = 0; round < rounds; round++) {
    const answers = await Promise.all(
      pushers.map((push, side) =>
        push({
          op: 'update',
          workspaceId,
          fileId: file.id,
          baseVersion: version,
          contentHash: contents[round]![side]!,
        }),
      ),
    );
    const won = answers.filter((answer) => answer.status === 200);
    expect(won, `round ${round}: ${JSON.stringify(answers.map((a) => a.body))}`).toHaveLength(1);
    const winnerSide = answers.findIndex((answer) => answer.status === 200);
    const winner = applied(answers[winnerSide]!);
    const loser = conflicted(answers[1 - winnerSide]!);
    expect(winner.file).toMatchObject({
      version: version + 1,
      contentHash: contents[round]![winnerSide],
    });
    expect(loser).toEqual(versionOf(winner.file));
    winners.push(winner);
    losingHashes.push(contents[round]![1 - winnerSide]!);
    version = winner.file.version;
  }
  // Seqs are dense: one change per round, nothing for the losers.
  const seqs = winners.map((winner) => winner.seq);
  expect(seqs).toEqual(Array.from({ length: rounds }, (_, i) => before + 1 + i));
  expect(await streamHead(database, stream)).toBe(before + rounds);

  const all = Array.from({ length: before + rounds }, (_, i) => i + 1);
  await watcher.expectReceivedOnce(stream, all, { timeout: 10_000 });
  const received = watcher
    .changes(stream)
    .map(({ change }) => change)
    .filter((change) => change.seq > before);
  expect(received.map((change) => change.data)).toEqual(winners.map((winner) => winner.file));
  const seen = new Set(
    received.filter((change) => isChangeOf(change, 'sync_file')).map(fileHashOf),
  );
  expect(losingHashes.filter((hash) => seen.has(hash))).toEqual([]);
  // The log holds exactly what was delivered.
  const logged = await readChanges(database.db, stream, before, 10_000);
  expect(logged.map((change) => change.data)).toEqual(received.map((change) => change.data));

  const { rows } = await database.pool.query<{ version: number; content_hash: string }>(
    'SELECT version, content_hash FROM sync_files WHERE id = $1',
    [file.id],
  );
  expect(rows).toEqual([{ version: 1 + rounds, content_hash: winners.at(-1)!.file.contentHash }]);
}

const fileHashOf = (change: ChangeEvent): string => (change.data as SyncFileData).contentHash;

describe('two devices editing the same file at once', () => {
  const ROUNDS = 30;

  test(`over sockets: each of ${ROUNDS} rounds, exactly one wins, the other gets conflict with the winner's version; a watcher gets each applied change once`, async ({
    startServer,
    database,
  }) => {
    const server = await startServer(UNLIMITED);
    const scenario = await workspaceScenario(database, server.url);
    const [aliceSocket, bobSocket, watcher] = await Promise.all(
      [scenario.alice, scenario.bob, scenario.alice2].map((device) =>
        connect(server.url, device.device),
      ),
    );
    try {
      await raceUpdates(
        database,
        scenario,
        watcher!,
        [
          (change) => pushOverSocket(aliceSocket!, change),
          (change) => pushOverSocket(bobSocket!, change),
        ],
        ROUNDS,
      );
    } finally {
      for (const client of [aliceSocket, bobSocket, watcher]) client!.close();
    }
  });

  test(`REST against a socket: each of ${ROUNDS} rounds, exactly one wins; a watcher gets each applied change once`, async ({
    startServer,
    database,
  }) => {
    const server = await startServer(UNLIMITED);
    const scenario = await workspaceScenario(database, server.url);
    const [bobSocket, watcher] = await Promise.all(
      [scenario.bob, scenario.alice2].map((device) => connect(server.url, device.device)),
    );
    try {
      await raceUpdates(
        database,
        scenario,
        watcher!,
        [(change) => scenario.alice.push(change), (change) => pushOverSocket(bobSocket!, change)],
        ROUNDS,
      );
    } finally {
      for (const client of [bobSocket, watcher]) client!.close();
    }
  });
});

describe('two devices claiming the same path at once', () => {
  test('a create against a move, or against another create, onto one path: exactly one wins, the other gets conflict carrying the winner', async ({
    startServer,
    database,
  }) => {
    const server = await startServer(UNLIMITED);
    const { workspaceId, stream, alice, bob, alice2 } = await workspaceScenario(
      database,
      server.url,
    );
    const bobSocket = await connect(server.url, bob.device);
    const watcher = await connect(server.url, alice2.device);
    try {
      const hash = await alice.uploaded(workspaceId, 'claim');
      let roaming = applied(
        await bob.push({ op: 'create', workspaceId, path: 'roaming', contentHash: hash }),
      ).file;
      expect((await watcher.emitWithAck('subscribe', { stream, since: 0 })).ok).toBe(true);
      const before = await streamHead(database, stream);
      const winners: SyncFileData[] = [];
      const rounds = 30;
      for (let round = 0; round < rounds; round++) {
        const path = `claimed/${round}`;
        const create: FilePushPayload = { op: 'create', workspaceId, path, contentHash: hash };
        const rival: FilePushPayload =
          round % 2 === 0
            ? { op: 'move', workspaceId, fileId: roaming.id, baseVersion: roaming.version, path }
            : create;
        const answers = await Promise.all([alice.push(create), pushOverSocket(bobSocket, rival)]);
        const won = answers.findIndex((answer) => answer.status === 200);
        expect(
          answers.map((answer) => answer.status).sort(),
          `round ${round}: ${JSON.stringify(answers.map((answer) => answer.body))}`,
        ).toEqual([200, 409]);
        const winner = applied(answers[won]!).file;
        expect(winner).toMatchObject({ path, deleted: false });
        expect(conflicted(answers[1 - won]!)).toEqual(versionOf(winner));
        if (winner.id === roaming.id) roaming = winner;
        winners.push(winner);
      }
      await watcher.expectReceivedOnce(
        stream,
        Array.from({ length: before + rounds }, (_, i) => i + 1),
      );
      const received = watcher
        .changes(stream)
        .filter(({ change }) => change.seq > before)
        .map(({ change }) => change.data);
      expect(received).toEqual(winners);
      expect(await streamHead(database, stream)).toBe(before + rounds);
      const live = await count(
        database,
        'SELECT count(*)::int AS n FROM sync_files WHERE workspace_id = $1 AND NOT deleted',
        [workspaceId],
      );
      // The roaming file, and one file per round but those the roaming file won (it moved on).
      const movesWon = winners.filter((file) => file.id === roaming.id).length;
      expect(live).toBe(1 + rounds - movesWon);
    } finally {
      bobSocket.close();
      watcher.close();
    }
  }, 30_000);
});

/** Live files by id as a device sees them: path, version and hash. */
type FileView = Map<string, Pick<SyncFileData, 'path' | 'version' | 'contentHash'>>;

function applyFileChange(view: FileView, change: ChangeEvent): void {
  if (!isChangeOf(change, 'sync_file')) return;
  const file = change.data;
  if (change.kind === 'sync_file.deleted' || file.deleted) view.delete(file.id);
  else view.set(file.id, { path: file.path, version: file.version, contentHash: file.contentHash });
}

describe('a device that joins late', () => {
  test('takes the snapshot, subscribes from its seq, and ends with the files of the database while changes keep coming', async ({
    startServer,
    database,
  }) => {
    const server = await startServer(UNLIMITED);
    const scenario = await workspaceScenario(database, server.url);
    const { workspaceId, stream, alice, bob, alice2 } = scenario;
    const hashes = await Promise.all(
      ['α', 'β', 'γ', 'δ'].map((text) => alice.uploaded(workspaceId, text)),
    );
    const files = new Map<string, SyncFileData>();
    for (const path of ['one', 'two', 'dir/three']) {
      const { file } = applied(
        await alice.push({ op: 'create', workspaceId, path, contentHash: hashes[0]! }),
      );
      files.set(file.id, file);
    }
    const bobSocket = await connect(server.url, bob.device);
    const late = await connect(server.url, alice2.device);
    try {
      // Bob keeps changing files (over his socket, and over REST every third change); the late
      // device takes its snapshot after his 8th change, while he carries on.
      let applyCount = 0;
      let snapshotTaken: Promise<WorkspaceSnapshot> | undefined;
      const writer = (async () => {
        for (let step = 0; step < 24; step++) {
          const ids = [...files.keys()];
          const target = files.get(ids[step % ids.length]!)!;
          const base = { workspaceId, fileId: target.id, baseVersion: target.version };
          const change: FilePushPayload =
            step % 6 === 5
              ? { op: 'delete', ...base }
              : step % 4 === 3
                ? { op: 'move', ...base, path: `moved/${step}` }
                : step % 7 === 6
                  ? { op: 'create', workspaceId, path: `new/${step}`, contentHash: hashes[1]! }
                  : { op: 'update', ...base, contentHash: hashes[step % hashes.length]! };
          const answer =
            step % 3 === 0 ? await bob.push(change) : await pushOverSocket(bobSocket, change);
          const { file } = applied(answer);
          if (file.deleted) files.delete(file.id);
          else files.set(file.id, file);
          if (files.size === 0) {
            const { file: added } = applied(
              await bob.push({
                op: 'create',
                workspaceId,
                path: `refill/${step}`,
                contentHash: hashes[2]!,
              }),
            );
            files.set(added.id, added);
          }
          applyCount++;
          if (applyCount === 8) snapshotTaken = alice2.snapshot<WorkspaceSnapshot>(stream);
        }
      })();
      await writer;
      const snapshot = await snapshotTaken!;
      const head = await streamHead(database, stream);
      expect(snapshot.seq).toBeGreaterThan(0);
      const ack = await late.emitWithAck('subscribe', { stream, since: snapshot.seq });
      expect(ack).toMatchObject({ ok: true, head });
      // More changes after the subscribe arrive live.
      const last = applied(
        await alice.push({
          op: 'create',
          workspaceId,
          path: 'after-subscribe',
          contentHash: hashes[3]!,
        }),
      );
      const expected = Array.from(
        { length: last.seq - snapshot.seq },
        (_, i) => snapshot.seq + 1 + i,
      );
      await late.expectReceivedOnce(stream, expected);

      const view: FileView = new Map(
        snapshot.files.map((file) => [
          file.id,
          { path: file.path, version: file.version, contentHash: file.contentHash },
        ]),
      );
      for (const { change } of late.changes(stream)) applyFileChange(view, change);
      const { rows } = await database.pool.query<{
        id: string;
        path: string;
        version: number;
        content_hash: string;
      }>(
        'SELECT id, path, version, content_hash FROM sync_files WHERE workspace_id = $1 AND NOT deleted',
        [workspaceId],
      );
      const fromDatabase: FileView = new Map(
        rows.map((row) => [
          row.id,
          { path: row.path, version: row.version, contentHash: row.content_hash },
        ]),
      );
      expect(view).toEqual(fromDatabase);
      expect(fromDatabase.size).toBeGreaterThan(0);
    } finally {
      bobSocket.close();
      late.close();
    }
  });
});
