import {
  DbError,
  findActiveDevice,
  insertMessage,
  isConversationMember,
  isWorkspaceMember,
  type Database,
} from '@ccs/db';
import {
  EVENTS,
  handshakeAuthSchema,
  messageSendPayloadSchema,
  parseStreamName,
  subscribePayloadSchema,
  unsubscribePayloadSchema,
  type Ack,
  type ChangesFrame,
  type ClientToServerEvents,
  type ServerToClientEvents,
  type StreamName,
  type SubscribePayload,
  type SubscribeResult,
  verifyDeviceToken,
  type DeviceIdentity,
} from '@ccs/protocol';
import { pino, type Logger } from 'pino';
import type { Server, Socket } from 'socket.io';
import type { z } from 'zod';
import { ChangeRelay, type ChangeRelayOptions } from './change-relay.js';
import { SerialQueue } from './serial-queue.js';
import type {
  BroadcastChanges,
  RelaySubscription,
  RequestResync,
  StreamRelay,
} from './stream-relay.js';
import type { GatewayMetrics } from './gateway-metrics.js';
import { RealtimeError } from './realtime-error.js';
import type { WakeSignal } from './wake-signal.js';

/** What the gateway keeps on each socket (`socket.data`). */
export interface GatewaySocketData extends DeviceIdentity {
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

/** Options of {@link startGateway}. */
export interface GatewayOptions {
  /** The socket.io server to serve on; the gateway adds auth middleware and handlers. */
  readonly io: GatewayServer;
  readonly db: Database;
  /** HMAC secret device tokens are signed with. */
  readonly jwtSecret: string;
  /** Tokens living longer than this (`exp − iat`), or without `exp`, are refused. @default 30 days */
  readonly maxTokenLifetimeSeconds?: number;
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
 * subscriptions, writes sends through PostgreSQL, and relays committed changes to subscribers.
 *
 * @example
 * const io = new Server(httpServer);
 * const gateway = await startGateway({ io, db, databaseUrl, jwtSecret });
 */
export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const { io, db, metrics } = options;
  const logger = options.logger ?? pino({ level: 'silent' });
  const { coalesce = true, ...tuning } = options.relay ?? {};

  const deps: RelayDeps = {
    db,
    logger,
    broadcast: (stream, changes) => broadcast(io, stream, changes, coalesce, metrics),
    resync: (stream, reason, head) =>
      io.local.to(stream).emit(EVENTS.resyncRequired, { stream, reason, head }),
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

  io.use((socket, next) => {
    authenticate(
      socket.handshake.auth,
      db,
      options.jwtSecret,
      options.maxTokenLifetimeSeconds,
    ).then(
      (identity) => {
        socket.data = { ...identity, subscriptions: new Map() };
        next();
      },
      (error: unknown) => {
        const wire = toRealtimeError(error, logger);
        next(Object.assign(new Error(wire.message), { data: wire.toWire() }));
      },
    );
  });

  io.on('connection', (socket) => {
    metrics?.connectedSockets.inc();
    socket.on('disconnect', () => {
      metrics?.connectedSockets.dec();
      for (const subscription of socket.data.subscriptions.values()) subscription.release();
      socket.data.subscriptions.clear();
    });

    // Subscribes and unsubscribes of one socket take effect in the order it sent them.
    const membership = new SerialQueue();
    const inOrder = <T>(task: () => Promise<T>): Promise<T> => membership.run(task);

    handle(socket, EVENTS.subscribe, subscribePayloadSchema, logger, (payload) =>
      inOrder(() => subscribe(payload)),
    );
    handle(socket, EVENTS.unsubscribe, unsubscribePayloadSchema, logger, (payload) =>
      inOrder(async () => {
        const subscription = socket.data.subscriptions.get(payload.stream);
        if (subscription) {
          socket.data.subscriptions.delete(payload.stream);
          subscription.release();
          await socket.leave(payload.stream);
        }
        return {};
      }),
    );

    async function subscribe(payload: SubscribePayload): Promise<SubscribeResult> {
      const { stream } = payload;
      const subscriptions = socket.data.subscriptions;
      if (subscriptions.has(stream)) {
        throw new RealtimeError('conflict', `already subscribed to ${stream}`);
      }
      await authorizeStream(db, socket.data, stream);
      // The socket may have gone, or subscribed again, while authorisation was read.
      if (socket.disconnected) throw new RealtimeError('conflict', 'socket disconnected');
      if (subscriptions.has(stream)) {
        throw new RealtimeError('conflict', `already subscribed to ${stream}`);
      }
      const { subscription, result } = relay.attach(
        stream,
        payload.since,
        (changes) => socket.emit(EVENTS.changes, changes),
        () => void socket.join(stream),
      );
      subscriptions.set(stream, subscription);
      const drop = (): void => {
        if (subscriptions.get(stream) === subscription) subscriptions.delete(stream);
        subscription.release();
      };
      const outcome = await result.catch((error: unknown) => {
        drop();
        throw error;
      });
      if (!outcome.ok) {
        drop();
        socket.emit(EVENTS.resyncRequired, { stream, reason: outcome.reason, head: outcome.head });
        throw new RealtimeError(
          'conflict',
          `cannot resume ${stream} after seq ${payload.since ?? 0} (${outcome.reason}); refetch the stream, then subscribe with since: ${outcome.head}`,
        );
      }
      return { head: outcome.head };
    }

    handle(socket, EVENTS.messageSend, messageSendPayloadSchema, logger, async (payload) => {
      const { userId, deviceId } = socket.data;
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
  });

  return {
    relay,
    async close() {
      stopWaking?.();
      await relay.stop();
    },
  };
}

function broadcast(
  io: GatewayServer,
  stream: StreamName,
  changes: ChangesFrame,
  coalesce: boolean,
  metrics: GatewayMetrics | undefined,
): void {
  const room = io.local.to(stream);
  if (coalesce) room.emit(EVENTS.changes, changes);
  else for (const change of changes) room.emit(EVENTS.changes, [change]);
  if (metrics) {
    const now = Date.now();
    for (const change of changes) {
      metrics.commitToEmitSeconds.observe((now - Date.parse(change.committedAt)) / 1000);
    }
    const receivers = io.sockets.adapter.rooms.get(stream)?.size ?? 0;
    metrics.changesDelivered.inc(receivers * changes.length);
  }
}

async function authenticate(
  auth: unknown,
  db: Database,
  secret: string,
  maxLifetimeSeconds: number | undefined,
): Promise<DeviceIdentity> {
  const parsed = handshakeAuthSchema.safeParse(auth);
  if (!parsed.success) {
    throw new RealtimeError('unauthorized', 'handshake needs auth: { token } with a device token');
  }
  let identity: DeviceIdentity;
  try {
    identity = await verifyDeviceToken(parsed.data.token, secret, {
      ...(maxLifetimeSeconds !== undefined && { maxLifetimeSeconds }),
    });
  } catch (error) {
    throw new RealtimeError('unauthorized', `invalid device token: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const device = await findActiveDevice(db, identity.deviceId);
  if (!device || device.userId !== identity.userId) {
    throw new RealtimeError('unauthorized', 'device unknown or revoked; sign in again');
  }
  return identity;
}

async function authorizeStream(
  db: Database,
  identity: DeviceIdentity,
  stream: StreamName,
): Promise<void> {
  const { kind, id } = parseStreamName(stream);
  const allowed =
    kind === 'conversation'
      ? await isConversationMember(db, id, identity.userId)
      : kind === 'workspace'
        ? await isWorkspaceMember(db, id, identity.userId)
        : id === identity.userId;
  if (!allowed) throw new RealtimeError('forbidden', `not allowed to subscribe to ${stream}`);
}

/**
 * Registers a handler that validates its payload, always answers through the ack, and turns
 * every failure into an error ack: the connection stays up and nothing is half-written.
 */
function handle<Schema extends z.ZodType, Result extends object>(
  socket: GatewaySocket,
  event: keyof ClientToServerEvents,
  schema: Schema,
  logger: Logger,
  handler: (payload: z.infer<Schema>) => Promise<Result>,
): void {
  // socket.io's typed `on` cannot express one generic handler over several events.
  (socket as unknown as Socket).on(event, (payload: unknown, ack: unknown) => {
    if (typeof ack !== 'function') {
      logger.debug({ event }, 'event without ack callback ignored');
      return;
    }
    const reply = ack as (response: Ack<Result>) => void;
    const parsed = schema.safeParse(payload);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
      reply({
        ok: false,
        error: {
          code: 'invalid_payload',
          message: `${event}: ${where}${issue?.message ?? 'invalid'}`,
        },
      });
      return;
    }
    handler(parsed.data).then(
      (result) => reply({ ok: true, ...result }),
      (error: unknown) => reply({ ok: false, error: toRealtimeError(error, logger).toWire() }),
    );
  });
}

function toRealtimeError(error: unknown, logger: Logger): RealtimeError {
  if (error instanceof RealtimeError) return error;
  if (error instanceof DbError && (error.code === 'not_found' || error.code === 'conflict')) {
    return new RealtimeError(error.code, error.message, { cause: error });
  }
  logger.error({ err: error }, 'unexpected gateway error');
  return new RealtimeError('internal', 'internal error; retry later', { cause: error });
}
