import type { AddressInfo } from 'node:net';
import { createDatabase, type DatabaseHandle } from '@ccs/db';
import { MAX_FRAME_BYTES } from '@ccs/protocol';
import { startRetentionWorker } from '@ccs/jobs';
import {
  createGatewayMetrics,
  startGateway,
  TokenBuckets,
  type Gateway,
  type GatewayServer,
} from '@ccs/realtime';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { createAdapter } from '@socket.io/redis-adapter';
import { Server } from 'socket.io';
import type { SyncServerConfig } from './config.js';
import { registerHealthRoutes } from './http/health-routes.js';
import { registerDemoPage } from './http/demo-page.js';
import { registerDevTokenRoute } from './http/dev-token-route.js';
import { registerMetricsRoute } from './http/metrics-route.js';
import { registerRestRoutes } from './http/rest-routes.js';
import { RedisWakeSignal } from './redis-wake-signal.js';

/** A running sync-server. */
export interface SyncServer {
  readonly app: FastifyInstance;
  readonly io: GatewayServer;
  readonly gateway: Gateway;
  readonly database: DatabaseHandle;
  /** The small pool of handshakes, subscribes and `/readyz`, apart from sends. */
  readonly authDatabase: DatabaseHandle;
  readonly redis: Redis;
  readonly registry: Registry;
  /** Base URL once listening, e.g. `http://127.0.0.1:3000`. */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Starts the whole service on one port: HTTP (health, readiness, metrics) and the socket.io
 * gateway. Nothing here reads the environment: pass a config from {@link loadConfig}.
 */
export async function startSyncServer(
  config: SyncServerConfig,
  logger: Logger,
): Promise<SyncServer> {
  const app: FastifyInstance = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    // Health probes and scrapes every few seconds would drown the log.
    logController: new LogController({ disableRequestLogging: true }),
  });
  const onConnectionError = (error: Error): void =>
    logger.warn({ err: error }, 'PostgreSQL ended a connection; the pool opens a new one');
  const database = createDatabase({
    url: config.databaseUrl,
    maxConnections: config.dbPoolSize,
    applicationName: 'ccs-sync-server',
    onConnectionError,
  });
  // Handshakes, subscribes and readiness get connections of their own: a flood of sends waits
  // for the main pool, never for these.
  const authDatabase = createDatabase({
    url: config.databaseUrl,
    maxConnections: config.authDbPoolSize,
    applicationName: 'ccs-sync-server-auth',
    onConnectionError,
  });
  const redis = new Redis(config.redisUrl, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    connectionName: `${config.redisPrefix}:health`,
  });
  redis.on('error', (error: Error) => logger.debug({ err: error }, 'redis connection error'));
  // Cross-node socket.io traffic (rooms, ephemeral events). Committed changes never go through
  // Redis: every node reads them from PostgreSQL and emits to its own sockets only.
  // maxRetriesPerRequest: null, so commands wait for Redis to come back instead of failing
  // (the adapter's subscribe has no catch: a rejection there would end the process).
  const adapterPub = new Redis(config.redisUrl, {
    lazyConnect: true,
    maxRetriesPerRequest: null,
    connectionName: `${config.redisPrefix}:adapter-pub`,
  });
  const adapterSub = adapterPub.duplicate({ connectionName: `${config.redisPrefix}:adapter-sub` });
  // Relay wake-ups: a publisher that drops signals while Redis is down (nothing queues up), and
  // a subscriber connection of their own.
  const wakePub = new Redis(config.redisUrl, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectionName: `${config.redisPrefix}:relay-wake-pub`,
  });
  const wakeSub = adapterPub.duplicate({
    connectionName: `${config.redisPrefix}:relay-wake-sub`,
  });
  for (const client of [adapterPub, adapterSub, wakePub, wakeSub]) {
    client.on('error', (error: Error) => logger.debug({ err: error }, 'redis adapter error'));
  }
  // Presence: this node's entries, renewed by heartbeats. Commands fail at once while Redis is
  // down (nothing queues up): the next heartbeat puts back what was missed.
  const presenceRedis = new Redis(config.redisUrl, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectionName: `${config.redisPrefix}:presence`,
  });
  presenceRedis.on('error', (error: Error) => logger.debug({ err: error }, 'redis presence error'));
  const wakeSignal = new RedisWakeSignal({
    publisher: wakePub,
    subscriber: wakeSub,
    channel: `${config.redisPrefix}:relay-wake`,
    logger,
  });
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const metrics = createGatewayMetrics(registry);

  registerHealthRoutes(app, {
    postgres: async () => {
      await authDatabase.pool.query('SELECT 1');
    },
    redis: async () => {
      if (redis.status === 'wait' || redis.status === 'end') await redis.connect();
      await redis.ping();
    },
  });
  registerMetricsRoute(app, registry);
  if (config.env !== 'production') {
    registerDevTokenRoute(app, authDatabase.db, {
      jwtSecret: config.jwtSecret,
      maxLifetimeSeconds: config.tokenMaxLifetimeHours * 3600,
    });
  }
  // Harmless without a token, so served everywhere; it mints tokens only where the route above is.
  registerDemoPage(app, { devTokens: config.env !== 'production' });

  await Promise.all([
    adapterPub.connect(),
    adapterSub.connect(),
    wakePub.connect(),
    presenceRedis.connect(),
  ]).catch((error: unknown) => {
    logger.warn({ err: error }, 'Redis not reachable yet; the adapter keeps retrying');
  });
  wakeSignal.start();
  const io: GatewayServer = new Server(app.server, {
    maxHttpBufferSize: MAX_FRAME_BYTES,
    serveClient: false,
    adapter: createAdapter(adapterPub, adapterSub, { key: `${config.redisPrefix}:socket.io` }),
  });
  const gateway = await startGateway({
    io,
    db: database.db,
    authDb: authDatabase.db,
    jwtSecret: config.jwtSecret,
    limits: config.limits,
    maxTokenLifetimeSeconds: Math.round(config.tokenMaxLifetimeHours * 3600),
    logger: logger.child({ component: 'gateway' }),
    metrics,
    relay: { busyTickMs: config.relayBusyMs, idleTickMs: config.relayIdleMs },
    wakeSignal,
    presence: { redis: presenceRedis, prefix: config.redisPrefix, ...config.presence },
  });
  const restRequestRates = new TokenBuckets(config.restRequestsPerSecond, config.restRequestBurst);
  await registerRestRoutes(app, {
    gateway,
    db: database.db,
    authDb: authDatabase.db,
    jwtSecret: config.jwtSecret,
    maxTokenLifetimeSeconds: Math.round(config.tokenMaxLifetimeHours * 3600),
    requestRates: restRequestRates,
    requestsPerSecond: config.restRequestsPerSecond,
    maxFileBytes: config.maxFileBytes,
    logger: logger.child({ component: 'rest' }),
  });
  const retention =
    config.retentionHours > 0
      ? startRetentionWorker({
          db: database.db,
          redisUrl: config.redisUrl,
          prefix: config.redisPrefix,
          policy: { maxAgeMs: config.retentionHours * 3_600_000 },
          everyMs: config.retentionEveryMinutes * 60_000,
          logger: logger.child({ component: 'retention' }),
        })
      : undefined;
  await redis.connect().catch((error: unknown) => {
    logger.warn({ err: error }, 'Redis not reachable yet; /readyz will say so');
  });

  await app.listen({ host: config.host, port: config.port });
  const { port } = app.server.address() as AddressInfo;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;

  let closing: Promise<void> | undefined;
  return {
    app,
    io,
    gateway,
    database,
    authDatabase,
    redis,
    registry,
    url,
    close: () =>
      (closing ??= (async () => {
        await io.close();
        await gateway.close();
        restRequestRates.close();
        await retention?.close();
        await app.close();
        redis.disconnect();
        adapterPub.disconnect();
        adapterSub.disconnect();
        wakePub.disconnect();
        wakeSub.disconnect();
        presenceRedis.disconnect();
        await Promise.all([database.close(), authDatabase.close()]);
      })()),
  };
}
