import { ChangeFeedConfigError, parseChangeFeeds, type ChangeFeed } from '@ccs/jobs';
import { DEFAULT_RECEIVED_REPORT_MS } from '@ccs/protocol';
import type { GatewayLimits } from '@ccs/realtime';
import { z } from 'zod';

/**
 * Share of the changes traced unless `CCS_OTLP_SAMPLE_RATIO` says otherwise. In the delivery
 * bench, tracing every change (1) cost the gateway 8 % more CPU per delivery; a tenth, 5 %,
 * within the bench's noise.
 */
export const DEFAULT_TRACE_SAMPLE_RATIO = 0.1;

const DEV_JWT_SECRET = 'ccs-local-development-secret-change-me';

const envSchema = z
  .object({
    NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
    HOST: z.string().min(1).default('127.0.0.1'),
    PORT: z.coerce.number().int().min(0).max(65_535).default(3000),
    DATABASE_URL: z.url().default('postgres://postgres@127.0.0.1:5432/ccs'),
    REDIS_URL: z.url().default('redis://127.0.0.1:6379'),
    CCS_JWT_SECRET: z.string().min(16).default(DEV_JWT_SECRET),
    CCS_TOKEN_MAX_LIFETIME_HOURS: z.coerce.number().positive().default(720),
    LOG_LEVEL: z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
      .default('info'),
    CCS_RELAY_BUSY_MS: z.coerce.number().int().min(0).max(1000).default(1),
    CCS_RELAY_IDLE_MS: z.coerce.number().int().min(1).max(60_000).default(50),
    CCS_RETENTION_HOURS: z.coerce.number().min(0).default(168),
    CCS_RETENTION_EVERY_MINUTES: z.coerce.number().positive().default(10),
    CCS_DB_POOL_SIZE: z.coerce.number().int().min(2).max(1000).default(10),
    CCS_AUTH_DB_POOL_SIZE: z.coerce.number().int().min(1).max(100).default(2),
    CCS_SENDS_PER_SECOND: optionalNumber(z.coerce.number().positive()),
    CCS_SEND_BURST: optionalNumber(z.coerce.number().int().min(1)),
    CCS_SENDS_IN_FLIGHT_PER_SOCKET: optionalNumber(z.coerce.number().int().min(1)),
    CCS_EVENTS_PER_BATCH: optionalNumber(z.coerce.number().int().min(1)),
    CCS_REFUSALS_PER_SECOND: optionalNumber(z.coerce.number().int().min(1)),
    CCS_CONNECTS_PER_SECOND: optionalNumber(z.coerce.number().positive()),
    CCS_CONNECT_BURST: optionalNumber(z.coerce.number().int().min(1)),
    CCS_SOCKETS_PER_DEVICE: optionalNumber(z.coerce.number().int().min(1)),
    CCS_SOCKETS_PER_USER: optionalNumber(z.coerce.number().int().min(1)),
    CCS_CONCURRENT_SENDS: optionalNumber(z.coerce.number().int().min(1)),
    CCS_QUEUED_SENDS: optionalNumber(z.coerce.number().int().min(0)),
    CCS_OUTBOUND_BUFFER_KB: optionalNumber(z.coerce.number().int().min(1)),
    CCS_SLOW_CONSUMER_GRACE_MS: optionalNumber(z.coerce.number().int().min(0)),
    CCS_EPHEMERAL_PER_SECOND: optionalNumber(z.coerce.number().positive()),
    CCS_EPHEMERAL_BURST: optionalNumber(z.coerce.number().int().min(1)),
    CCS_PRESENCE_PUSH_MAX_MEMBERS: optionalNumber(z.coerce.number().int().min(0)),
    CCS_PRESENCE_HEARTBEAT_MS: optionalNumber(z.coerce.number().int().min(100)),
    CCS_PRESENCE_TTL_MS: optionalNumber(z.coerce.number().int().min(200)),
    CCS_MAX_FILE_BYTES: z.coerce
      .number()
      .int()
      .min(1)
      .max(1024 ** 3)
      .default(8 * 1024 ** 2),
    CCS_REST_REQUESTS_PER_SECOND: z.coerce.number().positive().default(20),
    CCS_REST_REQUEST_BURST: z.coerce.number().int().min(1).default(40),
    CCS_ROLE: z.enum(['gateway', 'worker', 'all']).default('all'),
    CCS_OTLP_ENDPOINT: z.preprocess(
      (value) => (value === '' ? undefined : value),
      z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
    ),
    CCS_DEVICE_REPORT_MS: z.coerce
      .number()
      .int()
      .min(0)
      .max(3_600_000)
      .default(DEFAULT_RECEIVED_REPORT_MS),
    CCS_OTLP_SAMPLE_RATIO: z.coerce
      .number()
      .gt(0, 'must be above 0')
      .max(1, 'must be at most 1')
      .default(DEFAULT_TRACE_SAMPLE_RATIO),
    CCS_ADMIN_TOKEN: z.preprocess(
      (value) => (value === '' ? undefined : value),
      z.string().min(24, 'must be at least 24 characters').optional(),
    ),
    CCS_CHANGE_FEEDS: z
      .string()
      .default('')
      .transform((text, context) => {
        try {
          return parseChangeFeeds(text);
        } catch (error) {
          if (!(error instanceof ChangeFeedConfigError)) throw error;
          context.addIssue({ code: 'custom', message: error.message });
          return z.NEVER;
        }
      }),
    CCS_WEBHOOK_ATTEMPTS: z.coerce.number().int().min(1).max(50).default(8),
    CCS_WEBHOOK_BACKOFF_MS: z.coerce.number().int().min(1).default(1000),
    CCS_WEBHOOK_JITTER: z.coerce.number().min(0).max(1).default(0.5),
    CCS_WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).default(10_000),
    CCS_WEBHOOK_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(8),
    CCS_JOB_LOCK_MS: z.coerce.number().int().min(500).default(30_000),
    CCS_JOB_CLOSE_GRACE_MS: z.coerce.number().int().min(0).default(10_000),
    CCS_REDIS_PREFIX: z
      .string()
      .regex(/^[A-Za-z0-9:_-]{1,64}$/)
      .default('ccs'),
  })
  .refine((env) => env.NODE_ENV !== 'production' || env.CCS_JWT_SECRET !== DEV_JWT_SECRET, {
    path: ['CCS_JWT_SECRET'],
    message: 'must be set to a secret of your own in production',
  });

/** A number from the environment, or undefined (the gateway's default) when unset or empty. */
function optionalNumber<Schema extends z.ZodType<number, unknown>>(schema: Schema) {
  return z.preprocess((value) => (value === '' ? undefined : value), schema.optional());
}

/** What a process runs: the socket.io gateway and REST, the background jobs, or both. */
export type ServerRole = 'gateway' | 'worker' | 'all';

/** The service's configuration, validated once at start-up. */
export interface SyncServerConfig {
  readonly role: ServerRole;
  /**
   * Bearer token of the `/v1/admin` routes (app webhooks, failed jobs); they are not served
   * without one.
   */
  readonly adminToken: string | undefined;
  /**
   * Where spans go (OTLP over HTTP, e.g. `http://collector:4318/v1/traces`): each change's
   * write, relay read, emit and device ack. Nothing is traced without one.
   */
  readonly otlpEndpoint: string | undefined;
  /**
   * Share of the changes traced (`CCS_OTLP_SAMPLE_RATIO`, {@link DEFAULT_TRACE_SAMPLE_RATIO}):
   * chosen by stream and seq, so every node keeps the same changes whole.
   */
  readonly otlpSampleRatio: number;
  /**
   * At most how often devices report what they hold (`CCS_DEVICE_REPORT_MS`, ms; 0: never),
   * told to each in its subscribe answers: how fresh the inspector's lags and the
   * commit-to-device-ack metric are, against one inbound event per device per interval.
   */
  readonly deviceReportMs: number;
  /** Change feeds for sibling apps (`CCS_CHANGE_FEEDS`, e.g. `moderation=conversation:*`). */
  readonly changeFeeds: readonly ChangeFeed[];
  /** Offline notifications: tries, first retry's wait (doubling), jitter, POST timeout, parallel POSTs. */
  readonly webhooks: {
    readonly attempts: number;
    readonly backoffMs: number;
    readonly jitter: number;
    readonly timeoutMs: number;
    readonly concurrency: number;
  };
  /** A killed worker's job is retried this long after its last lock renewal. */
  readonly jobLockMs: number;
  /** On shutdown, active jobs get this long to finish. */
  readonly jobCloseGraceMs: number;
  readonly env: 'development' | 'test' | 'production';
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly databaseUrl: string;
  readonly redisUrl: string;
  readonly jwtSecret: string;
  /** Device tokens living longer than this (`exp − iat`), or without `exp`, are refused. */
  readonly tokenMaxLifetimeHours: number;
  readonly logLevel: string;
  /** Pause between the relay's reads of change_log while changes flow. */
  readonly relayBusyMs: number;
  /** Longest pause between the relay's reads of change_log when nothing changes. */
  readonly relayIdleMs: number;
  /** Prefix of every Redis key and channel this service uses (adapter, presence, jobs). */
  readonly redisPrefix: string;
  /** Changes stay replayable this long; 0 turns retention off. */
  readonly retentionHours: number;
  readonly retentionEveryMinutes: number;
  /** Connections of the main pool (sends, the relay's reads). */
  readonly dbPoolSize: number;
  /** Connections of the pool for handshakes, subscribes and `/readyz` (kept free of sends). */
  readonly authDbPoolSize: number;
  /** Largest file content `PUT /v1/workspaces/:id/contents/:hash` accepts, in bytes. */
  readonly maxFileBytes: number;
  /**
   * REST requests per device per second (a token bucket of `restRequestBurst`), counted before
   * the database is asked; writes also spend the device's write tokens, as on a socket.
   */
  readonly restRequestsPerSecond: number;
  readonly restRequestBurst: number;
  /** Limits against floods and slow consumers; unset ones take the gateway's defaults. */
  readonly limits: GatewayLimits;
  /**
   * How often each node renews its presence entries in Redis, and how long an entry lives
   * without renewal; unset ones take the gateway's defaults (3 s, 7 s).
   */
  readonly presence: { readonly heartbeatMs?: number; readonly ttlMs?: number };
}

/** Thrown when the environment does not describe a valid configuration. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code = 'invalid_config';
}

/** Reads and validates the configuration from environment variables, with local defaults. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): SyncServerConfig {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues
      .map((issue) => `  ${issue.path.join('.')}: ${issue.message}`)
      .join('\n');
    throw new ConfigError(`invalid configuration; fix these environment variables:\n${problems}`);
  }
  const value = parsed.data;
  return {
    role: value.CCS_ROLE,
    adminToken: value.CCS_ADMIN_TOKEN,
    otlpEndpoint: value.CCS_OTLP_ENDPOINT,
    otlpSampleRatio: value.CCS_OTLP_SAMPLE_RATIO,
    deviceReportMs: value.CCS_DEVICE_REPORT_MS,
    changeFeeds: value.CCS_CHANGE_FEEDS,
    webhooks: {
      attempts: value.CCS_WEBHOOK_ATTEMPTS,
      backoffMs: value.CCS_WEBHOOK_BACKOFF_MS,
      jitter: value.CCS_WEBHOOK_JITTER,
      timeoutMs: value.CCS_WEBHOOK_TIMEOUT_MS,
      concurrency: value.CCS_WEBHOOK_CONCURRENCY,
    },
    jobLockMs: value.CCS_JOB_LOCK_MS,
    jobCloseGraceMs: value.CCS_JOB_CLOSE_GRACE_MS,
    env: value.NODE_ENV,
    host: value.HOST,
    port: value.PORT,
    databaseUrl: value.DATABASE_URL,
    redisUrl: value.REDIS_URL,
    jwtSecret: value.CCS_JWT_SECRET,
    tokenMaxLifetimeHours: value.CCS_TOKEN_MAX_LIFETIME_HOURS,
    logLevel: value.LOG_LEVEL,
    relayBusyMs: value.CCS_RELAY_BUSY_MS,
    relayIdleMs: value.CCS_RELAY_IDLE_MS,
    redisPrefix: value.CCS_REDIS_PREFIX,
    retentionHours: value.CCS_RETENTION_HOURS,
    retentionEveryMinutes: value.CCS_RETENTION_EVERY_MINUTES,
    dbPoolSize: value.CCS_DB_POOL_SIZE,
    authDbPoolSize: value.CCS_AUTH_DB_POOL_SIZE,
    maxFileBytes: value.CCS_MAX_FILE_BYTES,
    restRequestsPerSecond: value.CCS_REST_REQUESTS_PER_SECOND,
    restRequestBurst: value.CCS_REST_REQUEST_BURST,
    limits: definedOnly({
      sendsPerSecond: value.CCS_SENDS_PER_SECOND,
      sendBurst: value.CCS_SEND_BURST,
      sendsInFlightPerSocket: value.CCS_SENDS_IN_FLIGHT_PER_SOCKET,
      eventsPerBatch: value.CCS_EVENTS_PER_BATCH,
      refusalsPerSecond: value.CCS_REFUSALS_PER_SECOND,
      connectsPerSecond: value.CCS_CONNECTS_PER_SECOND,
      connectBurst: value.CCS_CONNECT_BURST,
      socketsPerDevice: value.CCS_SOCKETS_PER_DEVICE,
      socketsPerUser: value.CCS_SOCKETS_PER_USER,
      concurrentSends: value.CCS_CONCURRENT_SENDS,
      queuedSends: value.CCS_QUEUED_SENDS,
      outboundBufferBytes:
        value.CCS_OUTBOUND_BUFFER_KB === undefined
          ? undefined
          : value.CCS_OUTBOUND_BUFFER_KB * 1024,
      slowConsumerGraceMs: value.CCS_SLOW_CONSUMER_GRACE_MS,
      ephemeralPerSecond: value.CCS_EPHEMERAL_PER_SECOND,
      ephemeralBurst: value.CCS_EPHEMERAL_BURST,
      presencePushMaxMembers: value.CCS_PRESENCE_PUSH_MAX_MEMBERS,
    }),
    presence: definedOnly({
      heartbeatMs: value.CCS_PRESENCE_HEARTBEAT_MS,
      ttlMs: value.CCS_PRESENCE_TTL_MS,
    }),
  };
}

/** The entries of `record` whose value is defined. */
function definedOnly<T extends object>(record: { [K in keyof T]: T[K] | undefined }): T {
  return Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined)) as T;
}
