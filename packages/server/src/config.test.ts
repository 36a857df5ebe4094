import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

describe('loadConfig', () => {
  it('has local defaults for every variable', () => {
    expect(loadConfig({})).toMatchObject({
      env: 'development',
      host: '127.0.0.1',
      port: 3000,
      databaseUrl: 'postgres://postgres@127.0.0.1:5432/ccs',
      redisUrl: 'redis://127.0.0.1:6379',
    });
  });

  it('names every invalid variable in one error', () => {
    let error: unknown;
    try {
      loadConfig({ PORT: 'eighty', DATABASE_URL: 'nope' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).code).toBe('invalid_config');
    expect((error as Error).message).toMatch(/PORT/);
    expect((error as Error).message).toMatch(/DATABASE_URL/);
  });

  it('reads the role, the admin token, change feeds and the job settings', () => {
    expect(loadConfig({})).toMatchObject({
      role: 'all',
      adminToken: undefined,
      changeFeeds: [],
      webhooks: { attempts: 8, backoffMs: 1000, jitter: 0.5, timeoutMs: 10_000, concurrency: 8 },
      jobLockMs: 30_000,
    });
    expect(
      loadConfig({
        CCS_ROLE: 'worker',
        CCS_ADMIN_TOKEN: 'a'.repeat(24),
        CCS_CHANGE_FEEDS: 'moderation=conversation:*',
        CCS_WEBHOOK_ATTEMPTS: '3',
        CCS_JOB_LOCK_MS: '2000',
      }),
    ).toMatchObject({
      role: 'worker',
      adminToken: 'a'.repeat(24),
      changeFeeds: [{ name: 'moderation', streams: ['conversation:*'] }],
      webhooks: { attempts: 3 },
      jobLockMs: 2000,
    });
    expect(() => loadConfig({ CCS_ROLE: 'cron' })).toThrow(/CCS_ROLE/);
    expect(() => loadConfig({ CCS_ADMIN_TOKEN: 'short' })).toThrow(/CCS_ADMIN_TOKEN/);
    expect(() => loadConfig({ CCS_CHANGE_FEEDS: 'moderation=messages' })).toThrow(
      /CCS_CHANGE_FEEDS: feed "moderation": "messages" is not a stream name/,
    );
  });

  it('traces only to a valid OTLP endpoint', () => {
    expect(loadConfig({}).otlpEndpoint).toBeUndefined();
    expect(loadConfig({ CCS_OTLP_ENDPOINT: '' }).otlpEndpoint).toBeUndefined();
    expect(loadConfig({ CCS_OTLP_ENDPOINT: 'http://collector:4318/v1/traces' }).otlpEndpoint).toBe(
      'http://collector:4318/v1/traces',
    );
    expect(() => loadConfig({ CCS_OTLP_ENDPOINT: 'collector:4318' })).toThrow(/CCS_OTLP_ENDPOINT/);
  });

  it('traces a tenth of the changes unless told another share in (0, 1]', () => {
    expect(loadConfig({}).otlpSampleRatio).toBe(0.1);
    expect(loadConfig({ CCS_OTLP_SAMPLE_RATIO: '1' }).otlpSampleRatio).toBe(1);
    for (const bad of ['0', '1.5', 'all']) {
      expect(() => loadConfig({ CCS_OTLP_SAMPLE_RATIO: bad })).toThrow(/CCS_OTLP_SAMPLE_RATIO/);
    }
  });

  it('asks devices for a report at most every 5 s unless told another whole number of ms (0: none)', () => {
    expect(loadConfig({}).deviceReportMs).toBe(5000);
    expect(loadConfig({ CCS_DEVICE_REPORT_MS: '1000' }).deviceReportMs).toBe(1000);
    expect(loadConfig({ CCS_DEVICE_REPORT_MS: '0' }).deviceReportMs).toBe(0);
    for (const bad of ['-1', '2.5', 'often']) {
      expect(() => loadConfig({ CCS_DEVICE_REPORT_MS: bad })).toThrow(/CCS_DEVICE_REPORT_MS/);
    }
  });

  it('passes only the limits that are set, leaving the rest to the gateway', () => {
    expect(loadConfig({}).limits).toEqual({});
    expect(
      loadConfig({
        CCS_SENDS_PER_SECOND: '5',
        CCS_OUTBOUND_BUFFER_KB: '1024',
        CCS_QUEUED_SENDS: '',
      }).limits,
    ).toEqual({ sendsPerSecond: 5, outboundBufferBytes: 1024 * 1024 });
    expect(() => loadConfig({ CCS_SOCKETS_PER_DEVICE: '0' })).toThrow(/CCS_SOCKETS_PER_DEVICE/);
  });

  it('maps every limit variable to its gateway limit', () => {
    const variables = {
      CCS_SENDS_PER_SECOND: 'sendsPerSecond',
      CCS_SEND_BURST: 'sendBurst',
      CCS_SENDS_IN_FLIGHT_PER_SOCKET: 'sendsInFlightPerSocket',
      CCS_EVENTS_PER_BATCH: 'eventsPerBatch',
      CCS_REFUSALS_PER_SECOND: 'refusalsPerSecond',
      CCS_CONNECTS_PER_SECOND: 'connectsPerSecond',
      CCS_CONNECT_BURST: 'connectBurst',
      CCS_SOCKETS_PER_DEVICE: 'socketsPerDevice',
      CCS_SOCKETS_PER_USER: 'socketsPerUser',
      CCS_CONCURRENT_SENDS: 'concurrentSends',
      CCS_QUEUED_SENDS: 'queuedSends',
      CCS_OUTBOUND_BUFFER_KB: 'outboundBufferBytes',
      CCS_SLOW_CONSUMER_GRACE_MS: 'slowConsumerGraceMs',
      CCS_EPHEMERAL_PER_SECOND: 'ephemeralPerSecond',
      CCS_EPHEMERAL_BURST: 'ephemeralBurst',
      CCS_PRESENCE_PUSH_MAX_MEMBERS: 'presencePushMaxMembers',
    } as const;
    const env = Object.fromEntries(Object.keys(variables).map((name) => [name, '7']));
    const expected = Object.fromEntries(
      Object.entries(variables).map(([name, key]) => [
        key,
        name === 'CCS_OUTBOUND_BUFFER_KB' ? 7 * 1024 : 7,
      ]),
    );
    expect(loadConfig(env).limits).toEqual(expected);
  });

  it('passes presence timing only when set', () => {
    expect(loadConfig({}).presence).toEqual({});
    expect(
      loadConfig({ CCS_PRESENCE_HEARTBEAT_MS: '1000', CCS_PRESENCE_TTL_MS: '' }).presence,
    ).toEqual({ heartbeatMs: 1000 });
    expect(
      loadConfig({ CCS_PRESENCE_HEARTBEAT_MS: '2000', CCS_PRESENCE_TTL_MS: '6000' }).presence,
    ).toEqual({ heartbeatMs: 2000, ttlMs: 6000 });
    expect(() => loadConfig({ CCS_PRESENCE_TTL_MS: 'soon' })).toThrow(/CCS_PRESENCE_TTL_MS/);
  });

  it('refuses the development secret in production', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/CCS_JWT_SECRET/);
    expect(loadConfig({ NODE_ENV: 'production', CCS_JWT_SECRET: 'x'.repeat(32) }).env).toBe(
      'production',
    );
  });
});
