import {
  DbError,
  findActiveDevice,
  insertMessage,
  isConversationMember,
  readStreamAccess,
  readStreamPosition,
  readStreamPositions,
  type Database,
} from '@ccs/db';
import {
  EVENTS,
  MAX_ENCODED_SEND_BYTES,
  handshakeAuthSchema,
  messageSendPayloadSchema,
  subscribePayloadSchema,
  unsubscribePayloadSchema,
  verifyDeviceToken,
  type ChangeEvent,
  type ChangesFrame,
  type ClientToServerEvents,
  type ResyncReason,
  type ServerToClientEvents,
  type StreamName,
  type SubscribePayload,
  type SubscribeResult,
  type VerifiedDeviceToken,
} from '@ccs/protocol';
import { pino, type Logger } from 'pino';
import type { Server, Socket } from 'socket.io';
import { accessLostBy, endsStreamAccess } from './access-changes.js';
import { ChangeRelay, type ChangeRelayOptions } from './change-relay.js';
import { changeFrames } from './change-frames.js';
import type { GatewayMetrics } from './gateway-metrics.js';
import { eventHandler, serveClientEvents } from './inbound-events.js';
import { LocalSessions, type SessionEnd, type SessionSocket } from './local-sessions.js';
import { OutboundBuffer } from './outbound-buffer.js';
import { RealtimeError } from './realtime-error.js';
import { rateLimited, SendQueue, TokenBuckets } from './send-limits.js';
import { SerialQueue } from './serial-queue.js';
import type {
  BroadcastChanges,
  ObserveChanges,
  RelaySubscription,
  RequestResync,
  StreamRelay,
} from './stream-relay.js';
import type { WakeSignal } from './wake-signal.js';

/** What the gateway keeps on each socket (`socket.data`). */
export interface GatewaySocketData extends VerifiedDeviceToken {
  /** This socket's hold on each stream it subscribed to (or is subscribing to). */
  subscriptions: Map<StreamName, RelaySubscription>;
}

export type GatewayServer = Server<
  ClientToServerEvents,
  ServerToClientEvents,
  Record<string, never>,
  GatewaySocketData
>;
type GatewaySocket = Socket<
  ClientToServerEvents,
  ServerToClientEvents,
  Record<string, never>,
  GatewaySocketData
>;

/**
 * Limits against floods and slow consumers; each refusal is a `rate_limited` error with a
 * `retryAfterMs`. Socket counts and send rates are per node (as Centrifugo's connection limits
 * are): a device spreading over N nodes gets N times the allowance.
 */
export interface GatewayLimits {
  /** Sends per device per second, refilled continuously (a token bucket). @default 20 */
  readonly sendsPerSecond?: number;
  /** Sends a device may make at once after a pause (the bucket's size). @default 40 */
  readonly sendBurst?: number;
  /** Sends of one socket waiting for their ack. @default 8 */
  readonly sendsInFlightPerSocket?: number;
  /**
   * Events of one socket handled per turn of the event loop (one long-polling request, or the
   * WebSocket frames read together); the rest are refused. @default 32
   */
  readonly eventsPerBatch?: number;
  /** Sockets of one device on this node (handshakes under way included). @default 4 */
  readonly socketsPerDevice?: number;
  /** Sockets of one user on this node (handshakes under way included). @default 16 */
  readonly socketsPerUser?: number;
  /** Sends writing to the database at once, all sockets of this node together. @default 6 */
  readonly concurrentSends?: number;
  /** Sends waiting for one of those slots; more are refused at once. @default 256 */
  readonly queuedSends?: number;
  /**
   * `rate_limited` answers one socket may get in a second; a socket that keeps sending past
   * them is disconnected with `session_ended { reason: 'flooding' }`. @default 200
   */
  readonly refusalsPerSecond?: number;
  /** Handshakes per device per second (a token bucket), before the database is asked. @default 2 */
  readonly connectsPerSecond?: number;
  /** Handshakes a device may make at once after a pause. @default 10 */
  readonly connectBurst?: number;
  /**
   * Bytes sent to one socket and not yet written to the network; a socket over this for longer
   * than `slowConsumerGraceMs` gets `resync_required { reason: 'slow_consumer' }` for each
   * stream and is disconnected. @default 4 MiB
   */
  readonly outboundBufferBytes?: number;
  /**
   * How long a socket may stay over `outboundBufferBytes` (a burst it drains in time is fine).
   * What one slow socket can hold is about `outboundBufferBytes` plus this long of its rooms'
   * traffic. @default 1000
   */
  readonly slowConsumerGraceMs?: number;
}

const DEFAULT_LIMITS: Required<GatewayLimits> = {
  sendsPerSecond: 20,
  sendBurst: 40,
  sendsInFlightPerSocket: 8,
  eventsPerBatch: 32,
  refusalsPerSecond: 200,
  connectsPerSecond: 2,
  connectBurst: 10,
  socketsPerDevice: 4,
  socketsPerUser: 16,
  concurrentSends: 6,
  queuedSends: 256,
  outboundBufferBytes: 4 * 1024 * 1024,
  slowConsumerGraceMs: 1000,
};

/** What a send refused because the database is busy is told to wait. */
const QUEUE_RETRY_AFTER_MS = 250;
/** What a send refused because its socket has too many in flight is told to wait. */
const IN_FLIGHT_RETRY_AFTER_MS = 20;

/** How long a dropped slow consumer may take to read what was queued before it is cut off. */
const SLOW_CONSUMER_GRACE_MS = 5000;

/** Options of {@link startGateway}. */
export interface GatewayOptions {
  /** The socket.io server to serve on; the gateway adds auth middleware and handlers. */
  readonly io: GatewayServer;
  /** Writes (sends) and the relay's reads of the change log. */
  readonly db: Database;
  /**
   * Handshakes' and subscribes' reads (device active, membership). Give it a small pool of its
   * own, so that a flood of sends cannot hold up others' connects and subscribes. @default db
   */
  readonly authDb?: Database;
  /** HMAC secret device tokens are signed with. */
  readonly jwtSecret: string;
  /** Tokens living longer than this (`exp − iat`), or without `exp`, are refused. @default 30 days */
  readonly maxTokenLifetimeSeconds?: number;
  /** @default {@link DEFAULT_LIMITS} */
  readonly limits?: GatewayLimits;
  /** @default a silent logger */
  readonly logger?: Logger;
  /** When given, the gateway records into these. */
  readonly metrics?: GatewayMetrics;
  /** Tuning of the default {@link ChangeRelay}, and how its changes are framed. */
  readonly relay?: GatewayRelayOptions;
  /**
   * Tells other gateways that a write committed here, and wakes this one's relay when they say
   * so (e.g. Redis pub/sub). Without it, other gateways find the write on their next tick.
   */
  readonly wakeSignal?: WakeSignal;
  /**
   * Replaces the default relay (another capture mode, or a deliberately naive one in a test that
   * must show it fails). @default a {@link ChangeRelay}
   */
  readonly createRelay?: (deps: RelayDeps) => StreamRelay;
}

/** Tuning of the gateway's relay (see {@link ChangeRelayOptions}), and how changes are framed. */
export type GatewayRelayOptions = Pick<
  ChangeRelayOptions,
  'busyTickMs' | 'idleTickMs' | 'batchSize'
> & {
  /**
   * Send the changes of a room found in one read as one `changes` frame; `false` sends one frame
   * per change (for comparison only: it costs one encode and one write per change). @default true
   */
  readonly coalesce?: boolean;
};

/** What the gateway hands a relay factory. */
export interface RelayDeps {
  readonly db: Database;
  readonly broadcast: BroadcastChanges;
  readonly resync: RequestResync;
  readonly observe: ObserveChanges;
  readonly logger: Logger;
}

/** A running gateway. */
export interface Gateway {
  readonly relay: StreamRelay;
  /** Disconnects nothing (close the socket.io server for that); stops the relay. */
  close(): Promise<void>;
}

/**
 * Serves the CCS protocol on a socket.io server: authenticates devices, authorises and replays
 * subscriptions, writes sends through PostgreSQL, relays committed changes to subscribers, and
 * ends access the moment a committed change takes it away (device revoked, member removed).
 *
 * @example
 * const io = new Server(httpServer, { maxHttpBufferSize: 128 * 1024 });
 * const gateway = await startGateway({ io, db, jwtSecret });
 */
export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const { io, db, metrics } = options;
  const authDb = options.authDb ?? db;
  const logger = options.logger ?? pino({ level: 'silent' });
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  if (limits.outboundBufferBytes < 4 * MAX_ENCODED_SEND_BYTES) {
    throw new RangeError(
      `limits.outboundBufferBytes must be at least ${4 * MAX_ENCODED_SEND_BYTES} (four of the largest changes)`,
    );
  }
  const { coalesce = true, ...tuning } = options.relay ?? {};
  const maxFrameBytes = limits.outboundBufferBytes / 4;
  const sessions = new LocalSessions<SessionSocket>(limits);
  const sessionOf = new WeakMap<GatewaySocket, SessionSocket>();
  const sendRates = new TokenBuckets(limits.sendsPerSecond, limits.sendBurst);
  const connectRates = new TokenBuckets(limits.connectsPerSecond, limits.connectBurst);
  const sends = new SendQueue(limits.concurrentSends, limits.queuedSends, QUEUE_RETRY_AFTER_MS);

  const emitToRoom = (stream: StreamName, changes: readonly ChangeEvent[]): void => {
    const room = io.local.to(stream);
    if (!coalesce) for (const change of changes) room.emit(EVENTS.changes, [change]);
    else for (const frame of changeFrames(changes, maxFrameBytes)) room.emit(EVENTS.changes, frame);
    if (metrics) recordDelivery(io, stream, changes, metrics);
  };

  /** The user (every user when undefined) leaves `stream` on this node, told why. */
  const revokeStream = (stream: StreamName, userId: string | undefined): void => {
    const members = io.sockets.adapter.rooms.get(stream);
    for (const id of members ? [...members] : []) {
      const socket = io.sockets.sockets.get(id);
      if (!socket || (userId !== undefined && socket.data.userId !== userId)) continue;
      socket.data.subscriptions.get(stream)?.release();
      socket.data.subscriptions.delete(stream);
      void socket.leave(stream);
      socket.emit(EVENTS.unsubscribed, { stream, reason: 'access_revoked' });
      metrics?.subscriptionsRevoked.inc();
    }
  };

  const deps: RelayDeps = {
    db,
    logger,
    // The change that takes a user's access away is the last of the stream they are sent.
    broadcast: (stream, changes) => {
      let from = 0;
      changes.forEach((change, index) => {
        const loss = accessLostBy(change);
        if (loss?.scope !== 'stream' || loss.stream !== stream) return;
        emitToRoom(stream, changes.slice(from, index + 1));
        revokeStream(stream, loss.userId);
        from = index + 1;
      });
      if (from < changes.length) emitToRoom(stream, from === 0 ? changes : changes.slice(from));
    },
    resync: (stream, reason, head) =>
      io.local.to(stream).emit(EVENTS.resyncRequired, { stream, reason, head }),
    observe: (changes) => {
      for (const change of changes) {
        const loss = accessLostBy(change);
        if (loss?.scope === 'device') {
          sessions.endDevice(loss.deviceId, {
            reason: 'device_revoked',
            message: 'this device was revoked; sign in again',
          });
        } else if (loss?.scope === 'user') {
          sessions.endUser(loss.userId, {
            reason: 'user_deleted',
            message: 'this user was deleted',
          });
        }
      }
    },
  };
  const relay =
    options.createRelay?.(deps) ??
    new ChangeRelay({
      ...deps,
      ...tuning,
      onRead: (read) => metrics?.relayReadSeconds.observe(read.seconds),
    });
  relay.start();
  const stopWaking = options.wakeSignal?.subscribe(() => relay.wake());
  /** A write committed through this gateway: look for it now, here and on the other nodes. */
  const committed = (): void => {
    relay.wake();
    options.wakeSignal?.notify();
  };

  /** Tells the socket why, then disconnects it. */
  const endSession = (socket: GatewaySocket, end: SessionEnd): void => {
    if (socket.disconnected) return;
    metrics?.sessionsEnded.inc({ reason: end.reason });
    socket.emit(EVENTS.sessionEnded, end);
    socket.disconnect(true);
  };

  io.use((socket, next) => {
    const session: SessionSocket = {
      get connected() {
        return socket.connected;
      },
      endSession: (end) => endSession(socket, end),
    };
    let admitted: VerifiedDeviceToken | undefined;
    authenticate(socket.handshake.auth, options.jwtSecret, options.maxTokenLifetimeSeconds)
      .then(async (token) => {
        const waitMs = connectRates.take(token.deviceId);
        if (waitMs > 0) {
          throw rateLimited(
            `this device connects over ${limits.connectsPerSecond} times per second`,
            waitMs,
          );
        }
        // Counted before the database is asked, so a revocation read meanwhile finds it.
        sessions.admit(session, token);
        admitted = token;
        await requireActiveDevice(authDb, token);
        const ended = sessions.endedDuringHandshake(session);
        if (ended) throw new RealtimeError('unauthorized', ended.message);
        return token;
      })
      .then(
        (token) => {
          socket.data = { ...token, subscriptions: new Map() };
          sessionOf.set(socket, session);
          next();
        },
        (error: unknown) => {
          if (admitted) sessions.remove(session, admitted);
          const wire = toWireError(error, logger);
          metrics?.handshakesRefused.inc({ code: wire.code });
          next(Object.assign(new Error(wire.message), { data: wire.toWire() }));
        },
      );
  });

  io.on('connection', (socket) => {
    metrics?.connectedSockets.inc();
    socket.on('disconnect', () => {
      metrics?.connectedSockets.dec();
      expiry.cancel();
      sessions.remove(sessionOf.get(socket)!, socket.data);
      for (const subscription of socket.data.subscriptions.values()) subscription.release();
      socket.data.subscriptions.clear();
    });
    const expiry = atTime(socket.data.expiresAt, () =>
      endSession(socket, {
        reason: 'token_expired',
        message: 'the device token expired; connect again with a fresh one',
      }),
    );
    const outbound = new OutboundBuffer(
      socket,
      limits.outboundBufferBytes,
      limits.slowConsumerGraceMs,
      () => void dropSlowConsumer(socket),
    );

    // Subscribes and unsubscribes of one socket take effect in the order it sent them.
    const membership = new SerialQueue();
    let sendsInFlight = 0;

    serveClientEvents(
      socket,
      {
        [EVENTS.subscribe]: eventHandler(subscribePayloadSchema, (payload) =>
          membership.run(() => subscribe(payload)),
        ),
        [EVENTS.unsubscribe]: eventHandler(unsubscribePayloadSchema, (payload) =>
          membership.run(async () => {
            const subscription = socket.data.subscriptions.get(payload.stream);
            if (subscription) {
              socket.data.subscriptions.delete(payload.stream);
              subscription.release();
              await socket.leave(payload.stream);
            }
            return {};
          }),
        ),
        [EVENTS.messageSend]: eventHandler(
          messageSendPayloadSchema,
          async (payload) => {
            const { userId, deviceId } = socket.data;
            return sends.run(async () => {
              if (!(await isConversationMember(db, payload.conversationId, userId))) {
                throw new RealtimeError(
                  'forbidden',
                  `not a member of conversation ${payload.conversationId}`,
                );
              }
              const stored = await insertMessage(db, { ...payload, authorId: userId, deviceId });
              if (stored.created) committed();
              return { id: stored.message.id, stream: stored.stream, seq: stored.seq };
            });
          },
          // Before the payload is parsed: a flood is refused at the cost of a counter.
          () => {
            if (sendsInFlight >= limits.sendsInFlightPerSocket) {
              throw rateLimited(
                `${limits.sendsInFlightPerSocket} sends of this socket await their ack; wait for one`,
                IN_FLIGHT_RETRY_AFTER_MS,
              );
            }
            const waitMs = sendRates.take(socket.data.deviceId);
            if (waitMs > 0) {
              throw rateLimited(
                `this device sends over ${limits.sendsPerSecond} messages per second`,
                waitMs,
              );
            }
            sendsInFlight++;
            return () => {
              sendsInFlight--;
            };
          },
        ),
      },
      {
        eventsPerBatch: limits.eventsPerBatch,
        refusalsPerSecond: limits.refusalsPerSecond,
        onFlood: () =>
          endSession(socket, {
            reason: 'flooding',
            message: `over ${limits.refusalsPerSecond} events a second were refused with rate_limited; honour retryAfterMs`,
          }),
        logger,
        toWireError: (error) => toWireError(error, logger),
        onRejected: (event, code) => metrics?.clientEventsRejected.inc({ event, code }),
      },
    );

    async function subscribe(payload: SubscribePayload): Promise<SubscribeResult> {
      const { stream, since } = payload;
      const subscriptions = socket.data.subscriptions;
      if (subscriptions.has(stream)) {
        throw new RealtimeError('conflict', `already subscribed to ${stream}`);
      }
      // Membership and head from one snapshot: a later removal has a larger seq than `head`,
      // and every change after `head` passes through this subscriber's check below.
      const access = await readStreamAccess(authDb, stream, socket.data.userId);
      if (!access.allowed)
        throw new RealtimeError('forbidden', `not allowed to subscribe to ${stream}`);
      if (since !== undefined && since > access.head) {
        const committed = (await readStreamPosition(authDb, stream)).head;
        if (since > committed) throw resync(stream, since, 'since_ahead_of_head', committed);
      }
      // The socket may have gone, or subscribed again, while authorisation was read.
      if (socket.disconnected) throw new RealtimeError('conflict', 'socket disconnected');
      if (subscriptions.has(stream)) {
        throw new RealtimeError('conflict', `already subscribed to ${stream}`);
      }
      let revoked = false;
      const { subscription, result } = relay.attach(
        stream,
        Math.min(since ?? access.head, access.head),
        async (changes) => {
          if (revoked) return;
          const cut = changes.findIndex((change) =>
            endsStreamAccess(change, stream, socket.data.userId),
          );
          const allowed = cut === -1 ? changes : changes.slice(0, cut + 1);
          const wanted = since === undefined ? allowed : allowed.filter((c) => c.seq > since);
          for (const frame of changeFrames(wanted, maxFrameBytes)) {
            await outbound.room();
            if (socket.disconnected || outbound.overflowed) return;
            socket.emit(EVENTS.changes, frame);
          }
          if (cut !== -1) {
            revoked = true;
            drop();
          }
        },
        () => void socket.join(stream),
      );
      subscriptions.set(stream, subscription);
      function drop(): void {
        if (subscriptions.get(stream) === subscription) subscriptions.delete(stream);
        subscription.release();
      }
      const outcome = await result.catch((error: unknown) => {
        drop();
        throw error;
      });
      if (!outcome.ok) {
        drop();
        throw resync(stream, since, outcome.reason, outcome.head);
      }
      // Taken away during the replay, or by a live change between the join and this ack.
      if (revoked || subscriptions.get(stream) !== subscription) {
        throw new RealtimeError(
          'forbidden',
          `access to ${stream} was taken away while subscribing`,
        );
      }
      return { head: outcome.head };
    }

    /** Tells the socket to refetch `stream`; the error is the subscribe's ack. */
    function resync(
      stream: StreamName,
      since: number | undefined,
      reason: ResyncReason,
      head: number,
    ): RealtimeError {
      socket.emit(EVENTS.resyncRequired, { stream, reason, head });
      return new RealtimeError(
        'conflict',
        `cannot resume ${stream} after seq ${since ?? 0} (${reason}); refetch the stream, then subscribe with since: ${head}`,
      );
    }
  });

  /**
   * A socket that does not read what it is sent: it leaves its rooms at once (nothing more
   * piles up), is told to resync each stream and why, and is disconnected; what it was sent and
   * did not read is dropped after {@link SLOW_CONSUMER_GRACE_MS}.
   */
  async function dropSlowConsumer(socket: GatewaySocket): Promise<void> {
    if (socket.disconnected) return;
    const streams = [...socket.data.subscriptions.keys()];
    for (const stream of streams) void socket.leave(stream);
    const positions = await readStreamPositions(authDb, streams).catch(() => undefined);
    for (const stream of streams) {
      const head = positions?.get(stream)?.head ?? 0;
      socket.emit(EVENTS.resyncRequired, { stream, reason: 'slow_consumer', head });
    }
    endSession(socket, {
      reason: 'slow_consumer',
      message: `over ${limits.outboundBufferBytes} bytes waited to be written to this socket; reconnect and resume`,
    });
    // A client still reading gets what is queued, the reasons last; one that does not is cut.
    setTimeout(() => socket.conn.close(true), SLOW_CONSUMER_GRACE_MS).unref();
  }

  return {
    relay,
    async close() {
      stopWaking?.();
      sendRates.close();
      connectRates.close();
      await relay.stop();
    },
  };
}

function recordDelivery(
  io: GatewayServer,
  stream: StreamName,
  changes: ChangesFrame,
  metrics: GatewayMetrics,
): void {
  const now = Date.now();
  for (const change of changes) {
    metrics.commitToEmitSeconds.observe((now - Date.parse(change.committedAt)) / 1000);
  }
  const receivers = io.sockets.adapter.rooms.get(stream)?.size ?? 0;
  metrics.changesDelivered.inc(receivers * changes.length);
}

async function authenticate(
  auth: unknown,
  secret: string,
  maxLifetimeSeconds: number | undefined,
): Promise<VerifiedDeviceToken> {
  const parsed = handshakeAuthSchema.safeParse(auth);
  if (!parsed.success) {
    throw new RealtimeError('unauthorized', 'handshake needs auth: { token } with a device token');
  }
  try {
    return await verifyDeviceToken(parsed.data.token, secret, {
      ...(maxLifetimeSeconds !== undefined && { maxLifetimeSeconds }),
    });
  } catch (error) {
    throw new RealtimeError('unauthorized', `invalid device token: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

async function requireActiveDevice(db: Database, token: VerifiedDeviceToken): Promise<void> {
  const device = await findActiveDevice(db, token.deviceId);
  if (!device || device.userId !== token.userId) {
    throw new RealtimeError('unauthorized', 'device unknown or revoked; sign in again');
  }
}

/** Longest delay `setTimeout` takes (about 24.8 days); longer ones fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Calls `task` at `epochMs` (however far away; never synchronously), unless cancelled first. */
function atTime(epochMs: number, task: () => void): { cancel(): void } {
  let timer: NodeJS.Timeout;
  const arm = (): void => {
    const delay = epochMs - Date.now();
    timer = setTimeout(delay <= 0 ? task : arm, Math.max(0, Math.min(delay, MAX_TIMER_MS)));
  };
  arm();
  return { cancel: () => clearTimeout(timer) };
}

function toWireError(error: unknown, logger: Logger): RealtimeError {
  if (error instanceof RealtimeError) return error;
  if (error instanceof DbError && (error.code === 'not_found' || error.code === 'conflict')) {
    return new RealtimeError(error.code, error.message, { cause: error });
  }
  logger.error({ err: error }, 'unexpected gateway error');
  return new RealtimeError('internal', 'internal error; retry later', { cause: error });
}
