/**
 * The peers `ccs-load` compares CCS with, in the same run and with the same clients: socket.io
 * servers that speak the CCS protocol subset the load clients use (handshake, `subscribe`,
 * `message:send`, `typing:update`) with nothing behind it — no database write, no
 * authorisation, no history. What CCS costs more than these is what its guarantees cost.
 *
 * - `bare`: `io.to(stream).emit(...)` on socket.io's in-memory adapter: the ceiling.
 * - `postgres-adapter`: the same over `@socket.io/postgres-adapter` (every broadcast is a
 *   `pg_notify` round trip before it leaves, even with one node).
 * - `redis-streams`: the same over `@socket.io/redis-streams-adapter` with connection state
 *   recovery, socket.io's own way to survive a disconnect (every broadcast is an `XADD` round
 *   trip before it leaves; a recovered socket gets what it missed from the Redis stream).
 *
 * Seqs are counted per stream in this process: a peer is one node.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  EVENTS,
  MAX_FRAME_BYTES,
  streamName,
  type Ack,
  type ChangeEvent,
  type ClientToServerEvents,
  type MessageSendResult,
  type ServerToClientEvents,
  type StreamName,
  type SubscribeResult,
  type TypingUpdateResult,
  type WireError,
} from '@ccs/protocol';
import { createAdapter as createPostgresAdapter } from '@socket.io/postgres-adapter';
import { createAdapter as createRedisStreamsAdapter } from '@socket.io/redis-streams-adapter';
import { Redis } from 'ioredis';
import pg from 'pg';
import { Server, type ServerOptions, type Socket } from 'socket.io';

export type PeerKind = 'bare' | 'postgres-adapter' | 'redis-streams';

export interface PeerServerOptions {
  kind: PeerKind;
  /** @default '127.0.0.1' */
  host?: string;
  /** 0 picks a free port. @default 0 */
  port?: number;
  /** `postgres-adapter`: the database its pool, `LISTEN` and attachments table use. */
  databaseUrl?: string;
  /** `redis-streams`. @default 'redis://127.0.0.1:6379' */
  redisUrl?: string;
  /**
   * `redis-streams`: prefix of every key and channel the server makes (its stream, its
   * sessions); each server adds a random part of its own, and deletes its keys on close.
   * @default 'ccs-peer'
   */
  redisKeyPrefix?: string;
}

export interface PeerServer {
  readonly port: number;
  /** Sockets connected now. */
  sockets(): number;
  /** Disconnects every socket, stops the server and releases what it holds (keys deleted). */
  close(): Promise<void>;
}

/** `socket.data` of a peer socket: who it is, made up at the handshake (peers have no auth). */
interface PeerSocketData {
  userId: string;
  deviceId: string;
}

type PeerIo = Server<
  ClientToServerEvents,
  ServerToClientEvents,
  Record<string, never>,
  PeerSocketData
>;
type PeerSocket = Socket<
  ClientToServerEvents,
  ServerToClientEvents,
  Record<string, never>,
  PeerSocketData
>;
type Reply = (ack: Ack<object>) => void;

/** As CCS's `typing:update` tells receivers (realtime's `TYPING_EXPIRES_IN_MS`). */
const TYPING_EXPIRES_IN_MS = 6000;

/** How long start waits for an adapter's own connections (Redis duplicates, `LISTEN`). */
const ADAPTER_READY_TIMEOUT_MS = 10_000;

/** The CSR settings the `redis-streams` peer runs with: socket.io's documented way. */
const CONNECTION_STATE_RECOVERY = { maxDisconnectionDuration: 2 * 60_000, skipMiddlewares: true };

/** Starts a peer server listening on `host:port`; resolves once it serves. */
export async function startPeerServer(options: PeerServerOptions): Promise<PeerServer> {
  const backend = await openBackend(options);
  const http = createServer();
  const io: PeerIo = new Server(http, {
    // What CCS (apps/sync-server) accepts; the load clients connect with WebSocket only.
    maxHttpBufferSize: MAX_FRAME_BYTES,
    serveClient: false,
    transports: ['websocket'],
    ...backend.serverOptions,
  });
  const closeAll = async (): Promise<void> => {
    await io.close();
    await backend.close();
  };
  try {
    await backend.ready(io);
    servePeerProtocol(io);
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
        http.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    await closeAll().catch(() => undefined);
    throw error;
  }
  let closing: Promise<void> | undefined;
  return {
    port: (http.address() as AddressInfo).port,
    sockets: () => io.of('/').sockets.size,
    close: () => (closing ??= closeAll()),
  };
}

/** The CCS protocol subset, served the cheapest way socket.io allows. */
function servePeerProtocol(io: PeerIo): void {
  /** Newest seq per stream: the head `subscribe` answers and `message:send` advances. */
  const heads = new Map<string, number>();

  io.use((socket, next) => {
    const token: unknown = (socket.handshake.auth as { token?: unknown } | undefined)?.token;
    if (typeof token !== 'string' || token.length === 0) {
      const error = new Error('auth.token must be a non-empty string') as Error & {
        data: WireError;
      };
      error.data = { code: 'unauthorized', message: error.message };
      next(error);
      return;
    }
    // A recovered socket skips this (`skipMiddlewares`) and keeps the data of its session.
    socket.data = { userId: randomUUID(), deviceId: randomUUID() };
    next();
  });

  io.on('connection', (socket: PeerSocket) => {
    socket.onAny((event: string, ...args: unknown[]) => {
      const reply = args[args.length - 1];
      if (typeof reply !== 'function') return; // nothing to answer through: dropped, as CCS
      const payload = args.length === 2 ? (args[0] as Record<string, unknown> | null) : null;
      switch (event) {
        case EVENTS.subscribe:
          subscribe(socket, payload, reply as Reply);
          return;
        case EVENTS.messageSend:
          send(socket, payload, reply as Reply);
          return;
        case EVENTS.typingUpdate:
          typing(socket, payload, reply as Reply);
          return;
        default:
          (reply as Reply)({
            ok: false,
            error: {
              code: 'unknown_event',
              message: `${JSON.stringify(event.slice(0, 64))} is not supported by this peer server (subscribe, message:send, typing:update only)`,
            },
          });
      }
    });
  });

  function subscribe(socket: PeerSocket, payload: Record<string, unknown> | null, reply: Reply) {
    const stream = payload?.stream;
    if (typeof stream !== 'string' || stream.length === 0) {
      invalid(reply, 'subscribe', 'stream must be a stream name');
      return;
    }
    const name = stream.toLowerCase();
    void socket.join(name);
    // No history: `since` replays nothing, the ack gives the head as it is now.
    const ack: Ack<SubscribeResult> = { ok: true, head: heads.get(name) ?? 0 };
    reply(ack);
  }

  function send(socket: PeerSocket, payload: Record<string, unknown> | null, reply: Reply) {
    const conversationId = payload?.conversationId;
    const clientId = payload?.clientId;
    const body = payload?.body;
    if (
      typeof conversationId !== 'string' ||
      typeof clientId !== 'string' ||
      typeof body !== 'string'
    ) {
      invalid(reply, 'message:send', 'expected { conversationId, clientId, body } strings');
      return;
    }
    const id = conversationId.toLowerCase();
    const stream = streamName('conversation', id);
    const seq = (heads.get(stream) ?? 0) + 1;
    heads.set(stream, seq);
    const now = new Date().toISOString();
    const messageId = randomUUID();
    const change: ChangeEvent<'message'> = {
      stream,
      seq,
      kind: 'message.created',
      data: {
        id: messageId,
        conversationId: id,
        authorId: socket.data.userId,
        deviceId: socket.data.deviceId,
        clientId,
        body,
        seq,
        createdAt: now,
        editedAt: null,
        deletedAt: null,
      },
      committedAt: now,
      writtenAt: now,
    };
    io.to(stream).emit(EVENTS.changes, [change]);
    const ack: Ack<MessageSendResult> = { ok: true, id: messageId, stream, seq };
    reply(ack);
  }

  function typing(socket: PeerSocket, payload: Record<string, unknown> | null, reply: Reply) {
    const conversationId = payload?.conversationId;
    const isTyping = payload?.typing;
    if (typeof conversationId !== 'string' || typeof isTyping !== 'boolean') {
      invalid(reply, 'typing:update', 'expected { conversationId: string, typing: boolean }');
      return;
    }
    const stream: StreamName = streamName('conversation', conversationId.toLowerCase());
    if (!socket.rooms.has(stream)) {
      reply({
        ok: false,
        error: {
          code: 'forbidden',
          message: `subscribe to ${stream} first: typing goes to its subscribers only`,
        },
      });
      return;
    }
    socket.to(stream).emit(EVENTS.typing, {
      stream,
      userId: socket.data.userId,
      deviceId: socket.data.deviceId,
      typing: isTyping,
      expiresInMs: TYPING_EXPIRES_IN_MS,
    });
    const ack: Ack<TypingUpdateResult> = { ok: true, forwarded: true };
    reply(ack);
  }
}

function invalid(reply: Reply, event: string, message: string): void {
  reply({ ok: false, error: { code: 'invalid_payload', message: `${event}: ${message}` } });
}

/** What a peer kind adds to a plain socket.io server, and how to release it. */
interface Backend {
  readonly serverOptions: Partial<ServerOptions>;
  /** Resolves once the adapter of `io` can broadcast (its connections are up). */
  ready(io: PeerIo): Promise<void>;
  /** After `io.close()`: releases connections, deletes what the server made. */
  close(): Promise<void>;
}

async function openBackend(options: PeerServerOptions): Promise<Backend> {
  switch (options.kind) {
    case 'bare':
      return { serverOptions: {}, ready: async () => undefined, close: async () => undefined };
    case 'postgres-adapter':
      return openPostgresBackend(options);
    case 'redis-streams':
      return openRedisStreamsBackend(options);
  }
}

/** From the adapter's README; payloads over 8000 bytes (or binary) go through it. */
const ATTACHMENTS_TABLE_SQL = `CREATE TABLE IF NOT EXISTS socket_io_attachments (
  id bigserial UNIQUE,
  created_at timestamptz DEFAULT NOW(),
  payload bytea
)`;

async function openPostgresBackend(options: PeerServerOptions): Promise<Backend> {
  if (!options.databaseUrl) throw new Error('the postgres-adapter peer needs databaseUrl');
  // One connection is the adapter's `LISTEN` (held for good), one publishes. A single publishing
  // connection keeps broadcasts in the order they were emitted: the adapter delivers locally
  // once its `pg_notify` returns, so with several connections a later emit whose NOTIFY
  // returns first overtakes an earlier one.
  const pool = new pg.Pool({
    connectionString: options.databaseUrl,
    max: 2,
    application_name: 'ccs-peer-postgres-adapter',
  });
  pool.on('error', () => undefined); // an idle client's error; the adapter reconnects itself
  try {
    await pool.query(ATTACHMENTS_TABLE_SQL);
  } catch (error) {
    // Two servers creating it at once: one wins, the other sees a duplicate; either is fine.
    const code = (error as { code?: string }).code;
    if (code !== '23505' && code !== '42P07') {
      await pool.end();
      throw error;
    }
  }
  return {
    serverOptions: { adapter: createPostgresAdapter(pool) },
    async ready(io) {
      // The adapter's `LISTEN` client, set once `LISTEN` ran: a close before that would leave
      // it checked out for ever (and `pool.end()` waiting for it).
      const adapter = io.of('/').adapter as unknown as { client?: { client?: unknown } };
      await waitUntil(() => adapter.client?.client !== undefined, 'postgres-adapter LISTEN');
    },
    close: () => pool.end(),
  };
}

async function openRedisStreamsBackend(options: PeerServerOptions): Promise<Backend> {
  const base = `${options.redisKeyPrefix ?? 'ccs-peer'}:${randomBytes(4).toString('hex')}`;
  const stream = `${base}:stream`;
  const redis = new Redis(options.redisUrl ?? 'redis://127.0.0.1:6379', {
    connectionName: `${base}:peer`,
  });
  redis.on('error', () => undefined); // ioredis reconnects; the adapter logs through `debug`
  // The adapter duplicates the client for its blocking XREAD loop and its SUBSCRIBE, and never
  // hands them out. Once closed it disconnects each itself, but the reader only after the XREAD
  // in flight returns (up to `blockTimeInMs`, 5 s): close unblocks it (`CLIENT UNBLOCK`, by the
  // id each duplicate tells first thing) and waits for both to end.
  const duplicates: { client: Redis; id: Promise<number | undefined> }[] = [];
  const duplicate = redis.duplicate.bind(redis);
  redis.duplicate = (override) => {
    const client = duplicate(override);
    const id = (client.client('ID') as Promise<number>).catch(() => undefined);
    duplicates.push({ client, id });
    return client;
  };
  let adapter: ReturnType<typeof createRedisStreamsAdapter>;
  try {
    await whenReady(redis);
    adapter = createRedisStreamsAdapter(redis, {
      streamName: stream,
      channelPrefix: base,
      sessionKeyPrefix: `${base}:session:`,
    });
  } catch (error) {
    for (const { client } of duplicates) client.disconnect();
    redis.disconnect();
    throw error;
  }
  return {
    serverOptions: { adapter, connectionStateRecovery: CONNECTION_STATE_RECOVERY },
    // Both duplicates exist once `createAdapter` returned (it duplicates synchronously).
    async ready() {
      await Promise.all(duplicates.map(({ client }) => whenReady(client)));
    },
    async close() {
      try {
        await endDuplicates(redis, duplicates);
        // After the sessions `io.close()` persisted: they went through `redis` first.
        const keys = [stream];
        let cursor = '0';
        do {
          const [next, batch] = await redis.scan(cursor, 'MATCH', `${base}:*`, 'COUNT', 500);
          cursor = next;
          keys.push(...batch);
        } while (cursor !== '0');
        for (let i = 0; i < keys.length; i += 500) await redis.del(...keys.slice(i, i + 500));
      } finally {
        await redis.quit().catch(() => redis.disconnect());
      }
    },
  };
}

/** How long close waits for the adapter to end a duplicate before ending it itself. */
const DUPLICATE_END_TIMEOUT_MS = 2000;

/**
 * Once the adapter is closed: unblocks its XREAD so that it disconnects its reader (a second
 * `disconnect()` after the socket closed would leave ioredis's destroy timer running), and
 * waits for every duplicate to end.
 */
async function endDuplicates(
  redis: Redis,
  duplicates: readonly { client: Redis; id: Promise<number | undefined> }[],
): Promise<void> {
  const ended = Promise.all(
    duplicates.map(({ client }) =>
      client.status === 'end' ? undefined : new Promise((resolve) => client.once('end', resolve)),
    ),
  );
  const deadline = Date.now() + DUPLICATE_END_TIMEOUT_MS;
  for (;;) {
    for (const { client, id } of duplicates) {
      const clientId = await id;
      if (client.status !== 'end' && clientId !== undefined) {
        await redis.client('UNBLOCK', clientId);
      }
    }
    // An XREAD sent just before the adapter closed may reach Redis after the UNBLOCK: again.
    if (await settlesWithin(ended, 50)) return;
    if (Date.now() > deadline) break;
  }
  for (const { client } of duplicates) client.disconnect();
  await ended;
}

/** Whether `promise` settles within `ms` (no timer or promise of its own outlives it). */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let stop = (): void => undefined;
  const timedOut = new Promise<false>((resolve) => {
    const timer = setTimeout(resolve, ms, false);
    stop = () => {
      clearTimeout(timer);
      resolve(false);
    };
  });
  try {
    return await Promise.race([promise.then(() => true), timedOut]);
  } finally {
    stop();
  }
}

/** Resolves once the client is ready; rejects on its first connection error. */
function whenReady(client: Redis): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onReady = (): void => {
      client.off('error', onError);
      resolve();
    };
    const onError = (error: Error): void => {
      client.off('ready', onReady);
      reject(error);
    };
    client.once('ready', onReady);
    client.once('error', onError);
  });
}

async function waitUntil(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + ADAPTER_READY_TIMEOUT_MS;
  while (!condition()) {
    if (Date.now() > deadline) {
      throw new Error(`${what} not ready after ${ADAPTER_READY_TIMEOUT_MS} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
