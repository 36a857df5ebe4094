import { createHash, randomUUID } from 'node:crypto';
import {
  isChangeOf,
  type Ack,
  type ChangeEvent,
  type ConversationSnapshot,
  type FilePushPayload,
  type FilePushResult,
  type StreamName,
  type UserSnapshot,
  type WireError,
  type WorkspaceSnapshot,
} from '@ccs/protocol';
import { restCall, TestClient } from '@ccs/test-clients';
import { type ServerProcess, type TestDatabase } from '@ccs/test-env';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  byId,
  DeviceState,
  fileView,
  messageView,
  NetworkLink,
  type FileView,
  type MessageView,
} from './product-workflow-helpers.js';
import { mintDevToken, startOwnServer, type OwnServer } from './own-server.js';

// A server process of its own (not the suite's shared one): other files assert its counters.
let own: OwnServer;
let database: TestDatabase;
let server: ServerProcess;

beforeAll(async () => {
  own = await startOwnServer('product');
  ({ database, server } = own);
});

afterAll(async () => {
  await own?.close();
});

/** One device of a user: its token, its socket, and where it reaches the server. */
interface Device {
  readonly name: string;
  readonly userId: string;
  readonly token: string;
  /** The server's URL, or the device's own network link to it. */
  readonly url: string;
  readonly client: TestClient;
}

/** Signs a device in as a developer would: a token from `POST /v1/dev/tokens`, then a socket. */
async function signIn(name: string, userId: string, url?: string): Promise<Device> {
  const body = await mintDevToken(server.url, { userId });
  const client = await TestClient.connect({ url: url ?? server.url, token: body.token, name });
  return { name, userId, token: body.token, url: url ?? server.url, client };
}

/** A REST call as the device; the body is JSON, or raw bytes for file contents. */
async function rest(
  device: Device,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: unknown; bytes: Buffer }> {
  const answer = await restCall(device.url, method, `/v1${path}`, {
    token: device.token,
    ...(Buffer.isBuffer(body) ? { bytes: body } : body !== undefined && { json: body }),
  });
  return Buffer.isBuffer(answer.body)
    ? { status: answer.status, body: undefined, bytes: answer.body }
    : { status: answer.status, body: answer.body, bytes: Buffer.from(JSON.stringify(answer.body)) };
}

async function getJson<T>(device: Device, path: string): Promise<T> {
  const response = await rest(device, 'GET', path);
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return response.body as T;
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

/** Uploads file content (content-addressed) over REST; answers its hash. */
async function upload(device: Device, workspaceId: string, text: string): Promise<string> {
  const hash = sha256(text);
  const response = await rest(
    device,
    'PUT',
    `/workspaces/${workspaceId}/contents/${hash}`,
    Buffer.from(text),
  );
  expect(response.body).toEqual({ hash, sizeBytes: Buffer.byteLength(text) });
  return hash;
}

async function download(device: Device, workspaceId: string, hash: string): Promise<string> {
  const response = await rest(device, 'GET', `/workspaces/${workspaceId}/contents/${hash}`);
  expect(response.status).toBe(200);
  return response.bytes.toString();
}

/** `file:push` over REST, answered as the socket would answer it. */
async function pushOverRest(device: Device, change: FilePushPayload): Promise<Ack<FilePushResult>> {
  const response = await rest(device, 'POST', `/workspaces/${change.workspaceId}/files`, change);
  return response.status === 200
    ? { ok: true, ...(response.body as FilePushResult) }
    : { ok: false, error: response.body as WireError };
}

/** The result of a write that must succeed. */
function ok<A extends { readonly ok: boolean }>(ack: A): Extract<A, { ok: true }> {
  if (!ack.ok) throw new Error(`write refused: ${JSON.stringify(ack)}`);
  return ack as Extract<A, { ok: true }>;
}

async function subscribe(device: Device, stream: StreamName, since: number): Promise<number> {
  return ok(await device.client.emitWithAck('subscribe', { stream, since })).head;
}

/** Resolves once the device has received the change `seq` of `stream`. */
async function sees(device: Device, stream: StreamName, seq: number): Promise<void> {
  await device.client.waitFor('change', { predicate: (c) => c.stream === stream && c.seq === seq });
}

/** Resolves once the device's own stream tells it that it joined `containerId`. */
async function learnsMembership(device: Device, containerId: string): Promise<void> {
  const joined = (change: ChangeEvent): boolean =>
    change.stream === `user:${device.userId}` &&
    ((isChangeOf(change, 'conversation_member') && change.data.conversationId === containerId) ||
      (isChangeOf(change, 'workspace_member') && change.data.workspaceId === containerId)) &&
    change.kind.endsWith('.created');
  await device.client.waitFor('change', { predicate: joined });
}

/** What a device shows, from every change it received. */
function viewOf(device: Device): DeviceState {
  const state = new DeviceState();
  for (const { change } of device.client.changes()) state.apply(change);
  return state;
}

const seqRange = (from: number, to: number): number[] =>
  Array.from({ length: Math.max(0, to - from + 1) }, (_, index) => from + index);

describe('product workflow, end to end', () => {
  it('Ada on phone and laptop, Bob on his device: chat, a file conflict, and the laptop back from a lost network in exactly the right state', async () => {
    // The laptop reaches the server through a network the test can take away.
    const laptopNetwork = await NetworkLink.open(server.url);
    const devices: Device[] = [];
    try {
      const ada = randomUUID();
      const bob = randomUUID();
      const phone = await signIn('ada-phone', ada);
      const laptop = await signIn('ada-laptop', ada, laptopNetwork.url);
      const bobDevice = await signIn('bob-device', bob);
      devices.push(phone, laptop, bobDevice);
      const adaStream: StreamName = `user:${ada}`;
      for (const device of devices) await subscribe(device, `user:${device.userId}`, 0);

      // 1. Ada's phone creates a conversation and adds Bob; every device learns it from its
      //    user's own stream and subscribes.
      const chat = ok(
        await phone.client.emitWithAck('conversation:create', {
          clientId: 'trip-chat',
          title: 'Lisbon trip',
        }),
      );
      ok(
        await phone.client.emitWithAck('conversation:add_member', {
          conversationId: chat.id,
          userId: bob,
        }),
      );
      for (const device of devices) {
        await learnsMembership(device, chat.id);
        await subscribe(device, chat.stream, 0);
      }

      // 2. The phone sends two messages, the laptop edits the first, the phone deletes the other.
      const send = async (device: Device, clientId: string, body: string) =>
        ok(
          await device.client.emitWithAck('message:send', {
            conversationId: chat.id,
            clientId,
            body,
          }),
        );
      const flights = await send(phone, 'phone-1', 'Flights booked');
      const typo = await send(phone, 'phone-2', 'Hotel is near the see');
      await sees(laptop, chat.stream, typo.seq);
      const flightsEdited = 'Flights booked: Friday 9:40, TAP';
      ok(
        await laptop.client.emitWithAck('message:edit', {
          messageId: flights.id,
          body: flightsEdited,
        }),
      );
      const deleted = ok(await phone.client.emitWithAck('message:delete', { messageId: typo.id }));
      // Only the author edits; a deleted message stays deleted.
      expect(
        await bobDevice.client.emitWithAck('message:edit', { messageId: flights.id, body: 'hm' }),
      ).toMatchObject({ ok: false, error: { code: 'forbidden' } });
      expect(
        await laptop.client.emitWithAck('message:edit', { messageId: typo.id, body: 'sea' }),
      ).toMatchObject({ ok: false, error: { code: 'conflict' } });
      for (const device of devices) {
        await sees(device, chat.stream, deleted.seq);
        expect(viewOf(device).messageList()).toEqual(
          byId<MessageView>([
            { id: flights.id, seq: flights.seq, body: flightsEdited, deleted: false },
            { id: typo.id, seq: typo.seq, body: '', deleted: true },
          ]),
        );
      }

      // 3. Ada shares a workspace with Bob; the phone uploads a plan over REST and creates it.
      const files = ok(
        await phone.client.emitWithAck('workspace:create', {
          clientId: 'trip-files',
          name: 'Lisbon trip files',
          memberIds: [bob],
        }),
      );
      for (const device of devices) {
        await learnsMembership(device, files.id);
        await subscribe(device, files.stream, 0);
      }
      const base = '# Plan\nDay 1: Alfama\n';
      const created = ok(
        await phone.client.emitWithAck('file:push', {
          op: 'create',
          workspaceId: files.id,
          path: 'plan.md',
          contentHash: await upload(phone, files.id, base),
        }),
      );
      expect(created.file).toMatchObject({ path: 'plan.md', version: 1 });
      const planId = created.file.id;
      await sees(laptop, files.stream, created.seq);

      // 4. Phone (socket) and laptop (REST) both edit version 1 at once: exactly one wins, the
      //    other gets `conflict` with the file as it is now, rebases onto it and pushes again.
      const edits = [
        {
          device: phone,
          text: `${base}Day 2: Sintra\n`,
          push: (change: FilePushPayload) => phone.client.emitWithAck('file:push', change),
        },
        {
          device: laptop,
          text: `${base}Dinner: Time Out Market\n`,
          push: (change: FilePushPayload) => pushOverRest(laptop, change),
        },
      ];
      for (const edit of edits) await upload(edit.device, files.id, edit.text);
      const answers = await Promise.all(
        edits.map((edit) =>
          edit.push({
            op: 'update',
            workspaceId: files.id,
            fileId: planId,
            baseVersion: 1,
            contentHash: sha256(edit.text),
          }),
        ),
      );
      expect(
        answers.filter((answer) => answer.ok),
        JSON.stringify(answers),
      ).toHaveLength(1);
      const winner = edits[answers.findIndex((answer) => answer.ok)]!;
      const loser = edits[answers.findIndex((answer) => !answer.ok)]!;
      const refusal = answers.find((answer) => !answer.ok);
      expect(refusal).toMatchObject({
        ok: false,
        error: {
          code: 'conflict',
          current: {
            fileId: planId,
            path: 'plan.md',
            version: 2,
            contentHash: sha256(winner.text),
            deleted: false,
          },
        },
      });
      const current = (refusal as { error: WireError }).error.current!;
      const theirs = await download(loser.device, files.id, current.contentHash);
      expect(theirs).toBe(winner.text);
      const merged = theirs + loser.text.slice(base.length);
      const rebased = ok(
        await loser.push({
          op: 'update',
          workspaceId: files.id,
          fileId: planId,
          baseVersion: current.version,
          contentHash: await upload(loser.device, files.id, merged),
        }),
      );
      expect(rebased.file).toMatchObject({ version: 3, contentHash: sha256(merged) });
      for (const device of devices) {
        await sees(device, files.stream, rebased.seq);
        expect(viewOf(device).fileList()).toEqual([
          { id: planId, path: 'plan.md', version: 3, contentHash: sha256(merged) },
        ]);
        expect(await download(device, files.id, sha256(merged))).toBe(merged);
      }

      // 5. The laptop goes to sleep (closes its socket); meanwhile the phone and Bob write. It
      //    wakes up and resumes every stream from the last seq it has.
      laptop.client.disconnect();
      const whileAsleep = [
        await send(phone, 'phone-3', 'Taxi or metro from the airport?'),
        await send(bobDevice, 'bob-1', 'Metro, line red'),
      ];
      await laptop.client.reconnect();
      for (const stream of [adaStream, chat.stream, files.stream]) {
        await subscribe(laptop, stream, laptop.client.lastSeq(stream));
      }
      for (const message of whileAsleep) await sees(laptop, chat.stream, message.seq);

      // 6. The laptop's network drops: the laptop notices, the server does not. The phone sends
      //    and edits, reorganises the files, Bob replies; the server writes all of it to a
      //    connection that is gone.
      const beforeDrop = laptop.client.transitions.length;
      laptopNetwork.drop();
      await laptop.client.waitForState('disconnected', { since: beforeDrop });
      const workspaceSeqBeforeDrop = laptop.client.lastSeq(files.stream);
      await send(phone, 'phone-4', 'Metro it is. Bringing sunscreen');
      const flightsFinal = 'Flights booked: Friday 9:40, TAP, seats 12A/12B';
      ok(
        await phone.client.emitWithAck('message:edit', {
          messageId: flights.id,
          body: flightsFinal,
        }),
      );
      await send(bobDevice, 'bob-2', 'Seats next to each other, nice');
      ok(
        await phone.client.emitWithAck('file:push', {
          op: 'move',
          workspaceId: files.id,
          fileId: planId,
          baseVersion: 3,
          path: 'lisbon/plan.md',
        }),
      );
      const packing = ok(
        await phone.client.emitWithAck('file:push', {
          op: 'create',
          workspaceId: files.id,
          path: 'lisbon/packing.md',
          contentHash: await upload(phone, files.id, 'sunscreen\n'),
        }),
      );
      // The server still counts the laptop in: it sends the laptop's changes into the void.
      await laptopNetwork.waitForLostBytes();

      // 7. The network is back: the laptop resumes its own stream and the conversation from its
      //    last seq, and the workspace from a snapshot; then more happens, live.
      await laptop.client.reconnect();
      const returnedAt = laptop.client.changes().length;
      for (const stream of [adaStream, chat.stream]) {
        await subscribe(laptop, stream, laptop.client.lastSeq(stream));
      }
      const filesAtReturn = await getJson<WorkspaceSnapshot>(
        laptop,
        `/streams/${encodeURIComponent(files.stream)}/snapshot`,
      );
      expect(filesAtReturn.seq).toBeGreaterThan(workspaceSeqBeforeDrop);
      await subscribe(laptop, files.stream, filesAtReturn.seq);
      const welcomeBack = await send(phone, 'phone-5', 'See you at the gate');
      const packed = ok(
        await bobDevice.client.emitWithAck('file:push', {
          op: 'delete',
          workspaceId: files.id,
          fileId: packing.file.id,
          baseVersion: 1,
        }),
      );
      await sees(laptop, chat.stream, welcomeBack.seq);
      await sees(laptop, files.stream, packed.seq);

      // 8. The laptop shows exactly what the server has: its snapshots, and its database.
      const userNow = await getJson<UserSnapshot>(
        laptop,
        `/streams/${encodeURIComponent(adaStream)}/snapshot`,
      );
      const chatNow = await getJson<ConversationSnapshot>(
        laptop,
        `/streams/${encodeURIComponent(chat.stream)}/snapshot`,
      );
      const filesNow = await getJson<WorkspaceSnapshot>(
        laptop,
        `/streams/${encodeURIComponent(files.stream)}/snapshot`,
      );
      const laptopView = new DeviceState();
      const received = laptop.client.changes();
      for (const { change } of received.slice(0, returnedAt)) laptopView.apply(change);
      laptopView.loadWorkspace(filesAtReturn);
      for (const { change } of received.slice(returnedAt)) laptopView.apply(change);

      const { rows: dbMessages } = await database.pool.query<MessageView>(
        `SELECT id, seq::int AS seq, body, deleted_at IS NOT NULL AS deleted
         FROM messages WHERE conversation_id = $1`,
        [chat.id],
      );
      const { rows: dbFiles } = await database.pool.query<FileView>(
        `SELECT id, path, version, content_hash AS "contentHash"
         FROM sync_files WHERE workspace_id = $1 AND NOT deleted`,
        [files.id],
      );
      const { rows: dbHeads } = await database.pool.query<{ stream: string; head: number }>(
        `SELECT stream, head::int AS head FROM stream_heads WHERE stream = ANY($1)`,
        [[adaStream, chat.stream, files.stream]],
      );
      expect(Object.fromEntries(dbHeads.map((row) => [row.stream, row.head]))).toEqual({
        [adaStream]: userNow.seq,
        [chat.stream]: chatNow.seq,
        [files.stream]: filesNow.seq,
      });

      const serverMessages = byId(chatNow.messages.map(messageView));
      expect(serverMessages).toEqual(byId(dbMessages));
      expect(serverMessages).toHaveLength(7);
      expect(laptopView.messageList()).toEqual(serverMessages);
      expect(laptopView.messages.get(flights.id)?.body).toBe(flightsFinal);
      const serverFiles = byId(filesNow.files.map(fileView));
      expect(serverFiles).toEqual(byId(dbFiles));
      expect(serverFiles).toEqual([
        { id: planId, path: 'lisbon/plan.md', version: 4, contentHash: sha256(merged) },
      ]);
      expect(laptopView.fileList()).toEqual(serverFiles);
      expect([...laptopView.conversations]).toEqual([chat.id]);
      expect(userNow.conversations.map((member) => member.conversationId)).toEqual([chat.id]);
      expect([...laptopView.workspaces]).toEqual([files.id]);
      expect(userNow.workspaces.map((member) => member.workspaceId)).toEqual([files.id]);
      // The phone and Bob, who never went away, show the same.
      for (const device of [phone, bobDevice]) {
        await sees(device, chat.stream, chatNow.seq);
        await sees(device, files.stream, filesNow.seq);
        expect(viewOf(device).messageList()).toEqual(serverMessages);
        expect(viewOf(device).fileList()).toEqual(serverFiles);
      }

      // Every seq reached the laptop exactly once, in order: the workspace's up to the drop,
      // then after the snapshot's; the others from 1 to the head.
      await laptop.client.expectReceivedOnce(adaStream, userNow.seq);
      await laptop.client.expectReceivedOnce(chat.stream, chatNow.seq);
      await laptop.client.expectReceivedOnce(files.stream, [
        ...seqRange(1, workspaceSeqBeforeDrop),
        ...seqRange(filesAtReturn.seq + 1, filesNow.seq),
      ]);
      expect(laptop.client.received('resync_required')).toEqual([]);
    } finally {
      for (const device of devices) device.client.close();
      await laptopNetwork.close();
    }
  });
});
