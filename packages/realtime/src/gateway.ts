import { type Database } from '@ccs/db';
import {
  checkedReportMs,
  DEFAULT_RECEIVED_REPORT_MS,
  EVENTS,
  MAX_ENCODED_SEND_BYTES,
  subscribePayloadSchema,
  unsubscribePayloadSchema,
} from '@ccs/protocol';
import { pino, type Logger } from 'pino';
import { accessLostBy } from './access-changes.js';
import { batchedAccessReads } from './access-reads.js';
import { Deadlines } from './at-time.js';
import { ChangeRelay, type ChangeRelayOptions } from './change-relay.js';
import { DEFAULT_GATEWAY_LIMITS, type GatewayLimits } from './gateway-limits.js';
import type { GatewayMetrics } from './gateway-metrics.js';
import { changesReceivedHandler } from './changes-received.js';
import type { Tracer } from '@opentelemetry/api';
import { ChangeTracing } from './change-tracing.js';
import { RecentCommits } from './recent-commits.js';
import type { GatewayServer, GatewaySocket } from './gateway-socket.js';
import { useHandshakeAuth } from './handshake-auth.js';
import {
  eventHandler,
  serveClientEvents,
  type EventHandlers,
  type InboundOptions,
} from './inbound-events.js';
import { LocalSessions } from './local-sessions.js';
import { OutboundBuffer } from './outbound-buffer.js';
import { Presence, presenceListHandler } from './presence.js';
import {
  LocalPresenceStore,
  RedisPresenceStore,
  type RedisPresenceOptions,
} from './presence-store.js';
import { createRoomBroadcast } from './room-broadcast.js';
import { SendQueue, TokenBuckets } from './send-limits.js';
import { RealtimeError } from './realtime-error.js';
import { SerialQueue } from './serial-queue.js';
import { dropSlowConsumer, endSession } from './session-end.js';
import { subscribeSocket, unsubscribeSocket } from './stream-subscriptions.js';
import type {
  BroadcastChanges,
  ObserveChanges,
  RequestResync,
  StreamRelay,
} from './stream-relay.js';
import { TypingThrottle, typingUpdateHandler } from './typing.js';
import type { WakeSignal } from './wake-signal.js';
import { toWireError } from './wire-errors.js';
import { writeEventHandlers } from './write-events.js';
import { WriteGate } from './write-gate.js';

/** What a send refused because the database is busy is told to wait. */
const QUEUE_RETRY_AFTER_MS = 250;

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
  /** @default {@link DEFAULT_GATEWAY_LIMITS} */
  readonly limits?: GatewayLimits;
  /** @default a silent logger */
  readonly logger?: Logger;
  /** When given, the gateway records into these. */
  readonly metrics?: GatewayMetrics;
  /**
   * When given, each change's path is traced: `ccs.write`, `ccs.relay.read`, `ccs.emit`,
   * `ccs.device_ack` (see {@link ChangeTracing}). Nothing is traced without one.
   */
  readonly tracer?: Tracer;
  /**
   * Share of the changes traced when there is a `tracer`, chosen by stream and seq, so every
   * node keeps or leaves out the same changes. @default 1
   */
  readonly traceSampleRatio?: number;
  /**
   * At most how often devices are asked to report what they hold (`changes:received`), in every
   * subscribe answer; 0 asks for no reports. More often keeps the inspector's lags fresher and
   * costs the gateway one inbound event per device per interval while changes flow.
   * @default {@link DEFAULT_RECEIVED_REPORT_MS}
   */
  readonly receivedReportMs?: number;
  /** Tuning of the default {@link ChangeRelay}, and how its changes are framed. */
  readonly relay?: GatewayRelayOptions;
  /**
   * Tells other gateways that a write committed here, and wakes this one's relay when they say
   * so (e.g. Redis pub/sub). Without it, other gateways find the write on their next tick.
   */
  readonly wakeSignal?: WakeSignal;
  /**
   * Presence shared by every node through Redis (heartbeats, a TTL, sweeps), so that a device
   * online on any node is online everywhere. Without it, presence is this node's alone.
   */
  readonly presence?: RedisPresenceOptions;
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
  /**
   * Writes as a device (REST uses it): the same rate per device, queue, validation and
   * answers as the socket events of the same name.
   */
  readonly writes: WriteGate;
  /**
   * Disconnects nothing (close the socket.io server for that); stops the relay, and takes this
   * node's devices offline in presence.
   */
  close(): Promise<void>;
}

/**
 * Serves the CCS protocol on a socket.io server: authenticates devices, authorises and replays
 * subscriptions, writes sends through PostgreSQL, relays committed changes to subscribers, and
 * ends access the moment a committed change takes it away (device revoked, member removed). It
 * only wires: each concept lives in the module named after it.
 *
 * @example
 * const io = new Server(httpServer, { maxHttpBufferSize: MAX_FRAME_BYTES });
 * const gateway = await startGateway({ io, db, jwtSecret });
 */
export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const { io, db, metrics } = options;
  const authDb = options.authDb ?? db;
  const logger = options.logger ?? pino({ level: 'silent' });
  const limits = { ...DEFAULT_GATEWAY_LIMITS, ...options.limits };
  if (limits.outboundBufferBytes < 4 * MAX_ENCODED_SEND_BYTES) {
    throw new RangeError(
      `limits.outboundBufferBytes must be at least ${4 * MAX_ENCODED_SEND_BYTES} (four of the largest changes)`,
    );
  }
  const { coalesce = true, ...tuning } = options.relay ?? {};
  const maxFrameBytes = limits.outboundBufferBytes / 4;
  const receivedReportMs = checkedReportMs(
    options.receivedReportMs ?? DEFAULT_RECEIVED_REPORT_MS,
    'receivedReportMs',
  );
  const sessions = new LocalSessions<GatewaySocket>(limits, (socket, end) =>
    endSession(socket, end, metrics),
  );
  const sendRates = new TokenBuckets(limits.sendsPerSecond, limits.sendBurst);
  const connectRates = new TokenBuckets(limits.connectsPerSecond, limits.connectBurst);
  const sends = new SendQueue(limits.concurrentSends, limits.queuedSends, QUEUE_RETRY_AFTER_MS);
  const ephemeral = {
    buckets: new TokenBuckets(limits.ephemeralPerSecond, limits.ephemeralBurst),
    perSecond: limits.ephemeralPerSecond,
  };
  const presence = new Presence({
    io,
    store: options.presence ? new RedisPresenceStore(options.presence) : new LocalPresenceStore(),
    changesPerSecond: limits.ephemeralPerSecond,
    changeBurst: limits.ephemeralBurst,
    pushMaxMembers: limits.presencePushMaxMembers,
    logger,
  });
  const typing = new TypingThrottle();
  const readAccess = batchedAccessReads(authDb);
  const tracing = options.tracer
    ? new ChangeTracing(options.tracer, options.traceSampleRatio)
    : undefined;
  // Commit times are kept only for what a device's report feeds: the metric and the ack span.
  const recentCommits = metrics || tracing ? new RecentCommits() : undefined;

  const deps: RelayDeps = {
    db,
    logger,
    broadcast: createRoomBroadcast(io, {
      coalesce,
      maxFrameBytes,
      metrics,
      recentCommits,
      tracing,
    }),
    resync: (stream, reason, head) =>
      io.local.to(stream).emit(EVENTS.resyncRequired, { stream, reason, head }),
    // Devices revoked and users deleted lose their sockets on every node, whoever wrote it.
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
      ...(tracing && { tracing }),
      onRead: (read) => {
        if (!metrics) return;
        metrics.relayReadSeconds.observe(read.seconds);
        metrics.relayTailLagChanges.set(read.changes);
        metrics.relayTailLagSeconds.set(read.lagSeconds);
      },
    });
  relay.start();
  metrics?.watch({
    subscriptions: () => {
      let count = 0;
      for (const socket of io.sockets.sockets.values())
        count += socket.data.subscriptions?.size ?? 0;
      return count;
    },
    trackedStreams: () => relay.trackedStreams.length,
  });
  const stopWaking = options.wakeSignal?.subscribe(() => relay.wake());
  const writes = new WriteGate({
    db,
    queue: sends,
    rates: sendRates,
    writesPerSecond: limits.sendsPerSecond,
    inFlightPerDevice: limits.sendsInFlightPerSocket,
    ...(tracing && { tracing }),
    // A write committed through this gateway: look for it now, here and on the other nodes.
    committed: () => {
      relay.wake();
      options.wakeSignal?.notify();
    },
  });

  useHandshakeAuth(io, {
    jwtSecret: options.jwtSecret,
    maxTokenLifetimeSeconds: options.maxTokenLifetimeSeconds,
    authDb,
    sessions,
    connectRates,
    connectsPerSecond: limits.connectsPerSecond,
    logger,
    metrics,
  });

  /** What the gateway keeps of each connected socket besides `socket.data`. */
  const locals = new WeakMap<GatewaySocket, SocketLocal>();
  const localOf = (socket: GatewaySocket): SocketLocal => {
    const local = locals.get(socket);
    if (!local) throw new RealtimeError('conflict', 'socket disconnected');
    return local;
  };
  const expiries = new Deadlines<GatewaySocket>((socket) =>
    endSession(
      socket,
      {
        reason: 'token_expired',
        message: 'the device token expired; connect again with a fresh one',
      },
      metrics,
    ),
  );
  const onSlowConsumer = (socket: GatewaySocket): void =>
    void dropSlowConsumer(socket, authDb, limits.outboundBufferBytes, metrics);
  // Built once: every handler takes the socket as an argument.
  const handlers: EventHandlers = {
    [EVENTS.subscribe]: eventHandler(subscribePayloadSchema, (payload, socket) => {
      const local = localOf(socket);
      const deps = {
        relay,
        authDb,
        readAccess,
        outbound: local.outbound,
        maxFrameBytes,
        onResume: metrics?.countResume,
      };
      return local
        .membership()
        .run(async () => ({ ...(await subscribeSocket(socket, payload, deps)), receivedReportMs }));
    }),
    [EVENTS.unsubscribe]: eventHandler(unsubscribePayloadSchema, (payload, socket) =>
      localOf(socket)
        .membership()
        .run(async () => {
          await unsubscribeSocket(socket, payload.stream);
          return {};
        }),
    ),
    ...writeEventHandlers(writes, limits.sendsInFlightPerSocket, {
      get: (socket) => localOf(socket).writesInFlight,
      set: (socket, count) => {
        const local = locals.get(socket);
        if (local) local.writesInFlight = count;
      },
    }),
    [EVENTS.presenceList]: presenceListHandler(presence, ephemeral),
    [EVENTS.typingUpdate]: typingUpdateHandler(typing, ephemeral, metrics),
    [EVENTS.changesReceived]: changesReceivedHandler(recentCommits, metrics, tracing),
  };
  const inbound: InboundOptions<GatewaySocket> = {
    eventsPerBatch: limits.eventsPerBatch,
    refusalsPerSecond: limits.refusalsPerSecond,
    onFlood: (socket) =>
      endSession(
        socket,
        {
          reason: 'flooding',
          message: `over ${limits.refusalsPerSecond} events a second were refused with rate_limited; honour retryAfterMs`,
        },
        metrics,
      ),
    logger,
    toWireError: (error) => toWireError(error, logger),
    onRejected: (event, code) => {
      metrics?.clientEventsRejected.inc({ event, code });
      if (code === 'rate_limited') metrics?.rateLimited.inc({ scope: 'socket' });
    },
  };
  // A listener of every socket (`this` is the socket), not a closure per socket.
  function onDisconnect(this: GatewaySocket): void {
    metrics?.connectedSockets.dec();
    expiries.remove(this, this.data.expiresAt);
    locals.get(this)?.outbound.close();
    locals.delete(this);
    sessions.remove(this, this.data);
    for (const subscription of this.data.subscriptions.values()) subscription.release();
    this.data.subscriptions.clear();
  }

  io.on('connection', (socket) => {
    metrics?.connectedSockets.inc();
    socket.on('disconnect', onDisconnect);
    expiries.add(socket, socket.data.expiresAt);
    locals.set(
      socket,
      new SocketLocal(
        new OutboundBuffer(
          socket,
          limits.outboundBufferBytes,
          limits.slowConsumerGraceMs,
          onSlowConsumer,
        ),
      ),
    );
    serveClientEvents(socket, handlers, inbound);
  });

  return {
    relay,
    writes,
    async close() {
      stopWaking?.();
      sendRates.close();
      connectRates.close();
      ephemeral.buckets.close();
      typing.close();
      expiries.close();
      await presence.close();
      await relay.stop();
    },
  };
}

/** What the gateway keeps of one connected socket. */
class SocketLocal {
  /** Writes of the socket awaiting their ack. */
  writesInFlight = 0;
  private queue: SerialQueue | undefined;

  constructor(readonly outbound: OutboundBuffer<GatewaySocket>) {}

  /** Subscribes and unsubscribes of the socket take effect in the order it sent them. */
  membership(): SerialQueue {
    return (this.queue ??= new SerialQueue());
  }
}
