import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { createDatabase, type DatabaseHandle } from '@ccs/db';
import { MAX_FRAME_BYTES } from '@ccs/protocol';
import { openJobQueues, type JobWorkers } from '@ccs/jobs';
import {
  createGatewayMetrics,
  RedisPresenceStore,
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
import { startBackgroundJobs } from './background-jobs.js';
import type { ServerRole, SyncServerConfig } from './config.js';
import { registerAdminRoutes } from './http/admin-routes.js';
import { registerHealthRoutes } from './http/health-routes.js';
import { trackInspectedSockets } from './http/inspector-routes.js';
import { registerDevTokenRoute } from './http/dev-token-route.js';
import { registerMetricsRoute } from './http/metrics-route.js';
import { registerRestRoutes } from './http/rest-routes.js';
import { registerWebhookRoutes } from './http/webhook-routes.js';
import { RedisWakeSignal } from './redis-wake-signal.js';
import { startServiceTracing } from './tracing.js';

/** A running sync-server of role `gateway` or `all`. */
export interface SyncServer {
  readonly role: Exclude<ServerRole, 'worker'>;
  /** The background jobs (role `all`); undefined for a `gateway`. */
  readonly jobs: JobWorkers | undefined;
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
  /**
   * Names this node in the admin inspector's answers (`<hostname>:<port>`): each of its sockets
   * carries it as `socket.data.node`.
   */
  readonly nodeId: string;
  close(): Promise<void>;
}

/** A running sync-server of role `worker`: background jobs, and HTTP for health and metrics. */
export interface WorkerServer {
  readonly role: 'worker';
  readonly jobs: JobWorkers;
  readonly app: FastifyInstance;
  readonly database: DatabaseHandle;
  readonly registry: Registry;
  readonly url: string;
  /** Graceful: active jobs finish first. */
  close(): Promise<void>;
}

/** What a deployment adds to a gateway's HTTP server. */
export interface SyncServerOptions {
  /** Registers routes of the deployment's own (the app's `/demo` page) before it listens. */
  readonly registerRoutes?: (app: FastifyInstance) => void | Promise<void>;
}

/** Starts the process `config.role` names; `options` apply to a gateway. */
export function startService(
  config: SyncServerConfig,
  logger: Logger,
  options: SyncServerOptions = {},
): Promise<SyncServer | WorkerServer> {
  return config.role === 'worker'
    ? startWorkerServer(config, logger)
    : startSyncServer(config, logger, options);
}

function createHttpApp(logger: Logger): FastifyInstance {
  return Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    // Health probes and scrapes every few seconds would drown the log.
    logController: new LogController({ disableRequestLogging: true }),
    // A webhook job's id (endpoint, stream, seq, recipient) is ~130 characters, and
    // `/v1/admin/jobs/:queue/:id/retry` takes it as a parameter.
    routerOptions: { maxParamLength: 256 },
  });
}

/** A connection for `/readyz` alone: commands fail at once while Redis is down. */
function healthRedis(config: SyncServerConfig, logger: Logger): Redis {
  const redis = new Redis(config.redisUrl, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    connectionName: `${config.redisPrefix}:health`,
  });
  redis.on('error', (error: Error) => logger.debug({ err: error }, 'redis connection error'));
  return redis;
}

async function pingRedis(redis: Redis): Promise<void> {
  if (redis.status === 'wait' || redis.status === 'end') await redis.connect();
  await redis.ping();
}

/** Listens as configured; resolves with the base URL. */
async function listen(app: FastifyInstance, config: SyncServerConfig): Promise<string> {
  await app.listen({ host: config.host, port: config.port });
  const { port } = app.server.address() as AddressInfo;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  return `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;
}

/**
 * The worker role: the background jobs (offline notifications, change feeds, retention) and an
 * HTTP port with `/healthz`, `/readyz`, `/metrics` and, with an admin token, `/v1/admin`.
 */
export async function startWorkerServer(
  config: SyncServerConfig,
  logger: Logger,
): Promise<WorkerServer> {
  const app = createHttpApp(logger);
  const database = createDatabase({
    url: config.databaseUrl,
    // /readyz and /v1/admin only: the jobs have a pool of their own.
    maxConnections: 2,
    applicationName: 'ccs-sync-worker',
    onConnectionError: (error) =>
      logger.warn({ err: error }, 'PostgreSQL ended a connection; the pool opens a new one'),
  });
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const background = startBackgroundJobs(config, registry, logger);
  const redis = healthRedis(config, logger);
  registerHealthRoutes(app, {
    postgres: async () => {
      await database.pool.query('SELECT 1');
    },
    redis: () => pingRedis(redis),
  });
  registerMetricsRoute(app, registry);
  if (config.adminToken) {
    registerAdminRoutes(app, {
      adminToken: config.adminToken,
      db: database.db,
      queues: background.jobs.queues,
    });
  }
  const url = await listen(app, config);
  let closing: Promise<void> | undefined;
  return {
    role: 'worker',
    jobs: background.jobs,
    app,
    database,
    registry,
    url,
    close: () =>
      (closing ??= (async () => {
        await background.close();
        await app.close();
        redis.disconnect();
        await database.close();
      })()),
  };
}

/**
 * Starts the service on one port: HTTP (health, readiness, metrics, REST) and the socket.io
 * gateway, plus the background jobs when `config.role` is `all`. Nothing here reads the
 * environment: pass a config from {@link loadConfig}.
 */
export async function startSyncServer(
  config: SyncServerConfig,
  logger: Logger,
  options: SyncServerOptions = {},
): Promise<SyncServer> {
  if (config.role === 'worker')
    throw new Error('startSyncServer runs a gateway: use startWorkerServer');
  const app = createHttpApp(logger);
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
  const redis = healthRedis(config, logger);
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
  // REST refusals of every limit (request rate, write rate, writes in flight) answer 429.
  app.addHook('onResponse', async (_request, reply) => {
    if (reply.statusCode === 429) metrics.rateLimited.inc({ scope: 'rest' });
  });

  registerHealthRoutes(app, {
    postgres: async () => {
      await authDatabase.pool.query('SELECT 1');
    },
    redis: () => pingRedis(redis),
  });
  registerMetricsRoute(app, registry);
  if (config.env !== 'production') {
    registerDevTokenRoute(app, authDatabase.db, {
      jwtSecret: config.jwtSecret,
      maxLifetimeSeconds: config.tokenMaxLifetimeHours * 3600,
    });
  }

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
  const tracing = config.otlpEndpoint ? startServiceTracing(config.otlpEndpoint) : undefined;
  const gateway = await startGateway({
    io,
    ...(tracing && { tracer: tracing.tracer, traceSampleRatio: config.otlpSampleRatio }),
    db: database.db,
    authDb: authDatabase.db,
    jwtSecret: config.jwtSecret,
    limits: config.limits,
    maxTokenLifetimeSeconds: Math.round(config.tokenMaxLifetimeHours * 3600),
    logger: logger.child({ component: 'gateway' }),
    metrics,
    receivedReportMs: config.deviceReportMs,
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
  await registerWebhookRoutes(app, {
    db: database.db,
    authDb: authDatabase.db,
    jwtSecret: config.jwtSecret,
    maxTokenLifetimeSeconds: Math.round(config.tokenMaxLifetimeHours * 3600),
    requestRates: restRequestRates,
    requestsPerSecond: config.restRequestsPerSecond,
  });
  const background =
    config.role === 'all' ? startBackgroundJobs(config, registry, logger) : undefined;
  // A gateway alone still shows the deployment's failed jobs: it opens the queues to look.
  const viewedQueues =
    background?.jobs.queues ??
    (config.adminToken
      ? openJobQueues({
          connection: adapterPub,
          prefix: config.redisPrefix,
          feeds: config.changeFeeds,
          retention: config.retentionHours > 0,
        })
      : []);
  // Known once listening (the port may be 0); sockets only connect after that.
  let nodeId = `${hostname()}:${config.port}`;
  if (config.adminToken) {
    trackInspectedSockets(io, () => nodeId);
    registerAdminRoutes(app, {
      adminToken: config.adminToken,
      db: database.db,
      queues: viewedQueues,
      inspector: {
        io,
        db: authDatabase.db,
        // Reads every node's entries (the gateway's own store writes this node's).
        presence: new RedisPresenceStore({
          redis: presenceRedis,
          prefix: config.redisPrefix,
          ...config.presence,
        }),
      },
    });
  }
  await options.registerRoutes?.(app);
  await redis.connect().catch((error: unknown) => {
    logger.warn({ err: error }, 'Redis not reachable yet; /readyz will say so');
  });

  const url = await listen(app, config);
  nodeId = `${hostname()}:${(app.server.address() as AddressInfo).port}`;

  let closing: Promise<void> | undefined;
  return {
    role: config.role,
    jobs: background?.jobs,
    app,
    io,
    gateway,
    database,
    authDatabase,
    redis,
    registry,
    url,
    nodeId,
    close: () =>
      (closing ??= (async () => {
        await io.close();
        await gateway.close();
        await tracing?.close();
        restRequestRates.close();
        await background?.close();
        if (!background) await Promise.all(viewedQueues.map((queue) => queue.close()));
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
