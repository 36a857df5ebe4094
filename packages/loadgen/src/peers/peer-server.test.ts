import { randomBytes, randomUUID } from 'node:crypto';
import {
  EVENTS,
  streamName,
  type ChangeEvent,
  type ChangesFrame,
  type ClientToServerEvents,
  type ServerToClientEvents,
  type StreamName,
  type TypingEvent,
  type WireError,
} from '@ccs/protocol';
import pg from 'pg';
import { io as connectClient, type Socket } from 'socket.io-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startPeerServer, type PeerKind, type PeerServer } from './peer-server.js';

const ADMIN_URL =
  process.env['CCS_TEST_DATABASE_URL'] ??
  process.env['DATABASE_URL'] ??
  'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const WAIT_MS = 5000;

type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/** A client socket and what it has received, in order. */
interface Client {
  readonly socket: ClientSocket;
  readonly changes: ChangeEvent[];
  readonly typing: TypingEvent[];
  /** Resolves once `condition` holds, checked now and after every event received. */
  until(condition: () => boolean, what: string): Promise<void>;
}

/** A database of the test's own for the postgres-adapter peer; dropped after. */
async function createDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `loadgen_peer_test_${randomBytes(4).toString('hex')}`;
  const admin = async (sql: string): Promise<void> => {
    const client = new pg.Client({ connectionString: ADMIN_URL });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await admin(`CREATE DATABASE "${name}"`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
  };
}

describe.each<{ kind: PeerKind; recovers: boolean }>([
  { kind: 'bare', recovers: false },
  { kind: 'postgres-adapter', recovers: false },
  { kind: 'redis-streams', recovers: true },
])('peer server $kind', ({ kind, recovers }) => {
  let server: PeerServer;
  let database: { url: string; drop(): Promise<void> } | undefined;
  let redisKeyPrefix: string;
  const clients: ClientSocket[] = [];

  beforeAll(async () => {
    if (kind === 'postgres-adapter') database = await createDatabase();
    redisKeyPrefix = `loadgen-peer-test:${randomBytes(4).toString('hex')}`;
    server = await startPeerServer({
      kind,
      ...(database && { databaseUrl: database.url }),
      redisUrl: REDIS_URL,
      redisKeyPrefix,
    });
  });

  afterEach(() => {
    for (const socket of clients.splice(0)) socket.disconnect();
  });

  afterAll(async () => {
    await server?.close();
    await database?.drop();
  });

  /** Connects a client (WebSocket only, as the load clients); resolves once connected. */
  async function connect(options: { reconnection?: boolean; token?: string } = {}) {
    const socket: ClientSocket = connectClient(`http://127.0.0.1:${server.port}`, {
      transports: ['websocket'],
      auth: { token: options.token ?? 'any-token' },
      forceNew: true,
      reconnection: options.reconnection ?? false,
      reconnectionDelay: 200,
      reconnectionDelayMax: 200,
    });
    clients.push(socket);
    const checks: (() => void)[] = [];
    const changes: ChangeEvent[] = [];
    const typing: TypingEvent[] = [];
    const notify = (): void => {
      for (const check of [...checks]) check();
    };
    socket.on(EVENTS.changes, (frame: ChangesFrame) => {
      changes.push(...frame);
      notify();
    });
    socket.on(EVENTS.typing, (event) => {
      typing.push(event);
      notify();
    });
    socket.on('connect', notify);
    socket.on('disconnect', notify);
    const client: Client = {
      socket,
      changes,
      typing,
      until: (condition, what) =>
        new Promise<void>((resolve, reject) => {
          const check = (): void => {
            if (!condition()) return;
            clearTimeout(timer);
            checks.splice(checks.indexOf(check), 1);
            resolve();
          };
          const timer = setTimeout(() => {
            checks.splice(checks.indexOf(check), 1);
            reject(new Error(`${kind}: timed out waiting for ${what}`));
          }, WAIT_MS);
          checks.push(check);
          check();
        }),
    };
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('connect_error', reject);
    });
    return client;
  }

  const subscribe = (client: Client, stream: StreamName, since?: number) =>
    client.socket
      .timeout(WAIT_MS)
      .emitWithAck(EVENTS.subscribe, { stream, ...(since !== undefined && { since }) });

  const send = (client: Client, conversationId: string, body: string) =>
    client.socket
      .timeout(WAIT_MS)
      .emitWithAck(EVENTS.messageSend, { conversationId, clientId: randomUUID(), body });

  const seqs = (client: Client) => client.changes.map((change) => change.seq);

  it('delivers seq 1..20 in order, with the body, to every subscriber', async () => {
    const conversationId = randomUUID();
    const stream = streamName('conversation', conversationId);
    const [a, b] = await Promise.all([connect(), connect()]);
    expect(await subscribe(a, stream)).toEqual({ ok: true, head: 0 });
    expect(await subscribe(b, stream)).toEqual({ ok: true, head: 0 });

    // All 20 in flight at once: order must hold without the sender waiting for each ack.
    const acks = await Promise.all(
      Array.from({ length: 20 }, (_, i) => send(a, conversationId, `body ${i + 1}`)),
    );
    acks.forEach((ack, i) => {
      expect(ack).toEqual({ ok: true, id: expect.any(String), stream, seq: i + 1 });
    });

    const expected = Array.from({ length: 20 }, (_, i) => i + 1);
    for (const client of [a, b]) {
      await client.until(() => client.changes.length >= 20, '20 changes');
      expect(seqs(client)).toEqual(expected);
      client.changes.forEach((change, i) => {
        expect(change).toEqual({
          stream,
          seq: i + 1,
          kind: 'message.created',
          data: {
            id: acks[i]?.ok ? acks[i].id : undefined,
            conversationId,
            authorId: expect.any(String),
            deviceId: expect.any(String),
            clientId: expect.any(String),
            body: `body ${i + 1}`,
            seq: i + 1,
            createdAt: expect.any(String),
            editedAt: null,
            deletedAt: null,
          },
          committedAt: expect.any(String),
          writtenAt: expect.any(String),
        });
      });
    }

    // No history: `since` acks the head and replays nothing (the next change is the barrier).
    const late = await connect();
    expect(await subscribe(late, stream, 3)).toEqual({ ok: true, head: 20 });
    expect(await send(a, conversationId, 'body 21')).toMatchObject({ ok: true, seq: 21 });
    await late.until(() => late.changes.length > 0, 'seq 21');
    expect(seqs(late)).toEqual([21]);
  });

  it('passes typing to the other subscribers only, in the CCS shape', async () => {
    const conversationId = randomUUID();
    const stream = streamName('conversation', conversationId);
    const [a, b] = await Promise.all([connect(), connect()]);
    await subscribe(a, stream);
    await subscribe(b, stream);

    expect(
      await a.socket
        .timeout(WAIT_MS)
        .emitWithAck(EVENTS.typingUpdate, { conversationId, typing: true }),
    ).toEqual({ ok: true, forwarded: true });
    await b.until(() => b.typing.length > 0, 'typing');
    expect(b.typing).toEqual([
      {
        stream,
        userId: expect.any(String),
        deviceId: expect.any(String),
        typing: true,
        expiresInMs: expect.any(Number),
      },
    ]);
    // A change emitted after the typing reaches `a` after it would have: a barrier.
    await send(a, conversationId, 'after typing');
    await a.until(() => a.changes.length > 0, 'the barrier change');
    expect(a.typing).toEqual([]);
  });

  it('answers what it does not serve with an error ack, and refuses a handshake without a token', async () => {
    const client = await connect();
    const stream = streamName('conversation', randomUUID());
    const unsupported = await client.socket
      .timeout(WAIT_MS)
      .emitWithAck(EVENTS.presenceList, { stream });
    expect(unsupported).toEqual({
      ok: false,
      error: { code: 'unknown_event', message: expect.stringContaining('presence:list') },
    });
    const typingUnsubscribed = await client.socket
      .timeout(WAIT_MS)
      .emitWithAck(EVENTS.typingUpdate, { conversationId: randomUUID(), typing: true });
    expect(typingUnsubscribed).toMatchObject({ ok: false, error: { code: 'forbidden' } });

    const refused = await connect({ token: '' }).then(
      () => undefined,
      (error: Error & { data?: WireError }) => error,
    );
    expect(refused?.data).toEqual({ code: 'unauthorized', message: expect.any(String) });
  });

  it(
    recovers
      ? 'recovers a socket whose transport dropped: socket.recovered and the messages sent meanwhile (connection state recovery)'
      : 'loses the messages sent while a socket was dropped: no recovery, the new socket must subscribe again',
    async () => {
      const conversationId = randomUUID();
      const stream = streamName('conversation', conversationId);
      const a = await connect();
      const b = await connect({ reconnection: true });
      await subscribe(a, stream);
      await subscribe(b, stream);
      // `b` needs one event before the drop: its offset is where recovery resumes from.
      await send(a, conversationId, 'before the drop');
      await b.until(() => b.changes.length === 1, 'the change before the drop');

      b.socket.io.engine.close();
      await b.until(() => !b.socket.connected, 'the drop');
      for (let i = 2; i <= 6; i++) await send(a, conversationId, `while dropped ${i}`);
      expect(b.socket.connected).toBe(false); // sent while it was away, not after it was back
      await b.until(() => b.socket.connected, 'the reconnection');

      if (recovers) {
        expect(b.socket.recovered).toBe(true);
        await b.until(() => b.changes.length >= 6, 'the missed changes');
        expect(seqs(b)).toEqual([1, 2, 3, 4, 5, 6]);
        // Still in the room (restored from the session): live changes follow.
        await send(a, conversationId, 'after the reconnection');
        await b.until(() => b.changes.length >= 7, 'seq 7');
        expect(seqs(b)).toEqual([1, 2, 3, 4, 5, 6, 7]);
      } else {
        expect(b.socket.recovered).toBeFalsy();
        // A new socket in no room: it subscribes again (head 6) and gets only what follows.
        expect(await subscribe(b, stream)).toEqual({ ok: true, head: 6 });
        await send(a, conversationId, 'after the reconnection');
        await b.until(() => b.changes.length >= 2, 'seq 7');
        expect(seqs(b)).toEqual([1, 7]);
      }
    },
  );
});
