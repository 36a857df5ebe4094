import { randomBytes } from 'node:crypto';
import pg from 'pg';
// Like the tests, the bench runs on a throwaway database cloned from the migrated template.
import { createTestDatabase, ensureTemplateDatabase, type TestDatabase } from '@ccs/test-env';
import type { ClientDevice, ClientWorkerCalls, RelayTuning, ServerCalls } from './bench-ipc.js';
import {
  seedBenchDirectory,
  seedHeldStreams,
  type BenchDirectory,
  type HeldStreams,
} from './bench-directory.js';
import { ChildLink } from '../ipc/child-link.js';
import { siblingModule } from '../ipc/sibling-module.js';
import { CpuSampler } from '../measure/cpu-sampler.js';
import { WaitEventSampler } from '../measure/wait-event-sampler.js';
import type { BenchRig } from './load-phase-runner.js';
import { MessageWriter } from './message-writer.js';
import { startOtlpReceiver } from './otlp-receiver.js';

/** Options of {@link startBenchRig}. */
export interface BenchRigOptions {
  /** Maintenance database to create (and drop) the bench database from. */
  readonly adminUrl: string;
  readonly clients: number;
  readonly devicesPerConversation: number;
  readonly devicesPerUser: number;
  /** Extra conversations seeded for the extra device of {@link StartedBenchRig.holdStreams}. */
  readonly heldStreams: number;
  readonly bodyBytes: number;
  readonly clientProcesses: number;
  readonly writerConnections: number;
  readonly writerTickMs: number;
  readonly gatewayConnections: number;
  /** Give the gateway Prometheus metrics, as the sync-server does. */
  readonly gatewayMetrics: boolean;
  /** Share of the changes a traced gateway traces. */
  readonly traceSampleRatio: number;
  /** At most how often the gateway asks devices to report (`changes:received`), in ms. */
  readonly receivedReportMs: number;
  /** Time the relay's broadcasts (diagnostics; see relay-probe.ts). */
  readonly probeRelay: boolean;
  /** Extra Node flags for the server process (e.g. `--cpu-prof`). */
  readonly serverNodeFlags: readonly string[];
  readonly drainStallMs: number;
  readonly busyRetry: BenchRig['busyRetry'];
  /** SQL run on the bench database after seeding (experiments only). */
  readonly setupSql: string | undefined;
  readonly log: (line: string) => void;
}

/** A started rig and how to drive and take it down. */
export interface StartedBenchRig {
  readonly rig: BenchRig;
  readonly database: TestDatabase;
  readonly directory: BenchDirectory;
  /**
   * Starts the gateway with `relay` (traced, with `tracing`: its spans go to the rig's OTLP
   * receiver) and connects and subscribes every client; when it was already serving, disconnects
   * the clients and stops it first.
   */
  serve(relay: RelayTuning, gateway?: { readonly tracing?: boolean }): Promise<void>;
  /**
   * Serves again with the same relay tuning, traced or not: when `fresh`, always (every client
   * connects anew), else only when tracing is to change. Tracing is the gateway's `tracer`
   * option, fixed at its start: a gateway without one does none of the tracing work.
   */
  useTracing(tracing: boolean, options?: { readonly fresh?: boolean }): Promise<void>;
  /**
   * From now on every device reports what it received (at most as often as the gateway asks:
   * `receivedReportMs`), or none does.
   */
  setDeviceAcks(report: boolean): Promise<void>;
  /**
   * Makes the gateway track `total` streams (the bench conversations included) by subscribing
   * the extra device to as many held streams as that takes; to go down, its socket is closed
   * and opened again.
   */
  holdStreams(total: number): Promise<void>;
  /** Disconnects the clients, stops the server, drops the database; safe to call twice. */
  close(): Promise<void>;
}

/**
 * Everything the phases run on: a fresh migrated database with the simulated population, the
 * server process (the gateway starts on {@link StartedBenchRig.serve}) and the client processes.
 */
export async function startBenchRig(options: BenchRigOptions): Promise<StartedBenchRig> {
  const { log } = options;
  const teardown: (() => Promise<unknown>)[] = [];
  const close = async (): Promise<void> => {
    while (teardown.length > 0)
      await teardown.pop()!().catch((error: unknown) => log(String(error)));
  };
  try {
    const templateDatabase = await ensureTemplateDatabase(options.adminUrl);
    const database = await createTestDatabase(
      { adminUrl: options.adminUrl, templateDatabase, redisUrl: '' },
      // Past saturation the open-loop writer queues on the pool on purpose: no wait limit.
      {
        label: 'realtime_bench',
        maxConnections: options.writerConnections,
        connectionTimeoutMs: 0,
      },
    );
    teardown.push(() => database.drop());
    // The same database, committing without waiting for the WAL to reach the disk (the
    // overhead comparisons: see `CommitMode`).
    const asyncPool = new pg.Pool({
      connectionString: database.url,
      max: options.writerConnections,
      options: '-c synchronous_commit=off',
      application_name: 'ccs-bench-async-writer',
    });
    teardown.push(() => asyncPool.end());
    const waits = await WaitEventSampler.connect(database.url);
    teardown.push(() => waits.close());
    const otlp = await startOtlpReceiver();
    teardown.push(() => otlp.close());
    const jwtSecret = randomBytes(24).toString('hex');
    const usersPerConversation = options.devicesPerConversation / options.devicesPerUser;
    if (
      !Number.isInteger(usersPerConversation) ||
      options.clients % options.devicesPerConversation
    ) {
      throw new Error(
        'clients must be a multiple of devicesPerConversation, itself of devicesPerUser',
      );
    }
    const directory = await seedBenchDirectory(database.db, {
      conversations: options.clients / options.devicesPerConversation,
      usersPerConversation,
      devicesPerUser: options.devicesPerUser,
      jwtSecret,
    });
    const held: HeldStreams = await seedHeldStreams(database.db, {
      count: options.heldStreams,
      jwtSecret,
    });
    log(
      `seeded ${directory.devices.length} devices in ${directory.conversations.length} ` +
        `conversations, and ${held.streams.length} conversations to hold`,
    );
    if (options.setupSql) await database.pool.query(options.setupSql);

    const server = await ChildLink.fork<ServerCalls>(
      siblingModule(import.meta.url, 'bench-server'),
      { nodeFlags: options.serverNodeFlags },
    );
    teardown.push(() => server.exit());
    teardown.push(() => server.call('stop', {}));
    const clients = await Promise.all(
      Array.from({ length: options.clientProcesses }, () =>
        ChildLink.fork<ClientWorkerCalls>(siblingModule(import.meta.url, 'client-worker')),
      ),
    );
    for (const client of clients) {
      teardown.push(() => client.exit());
      teardown.push(() => client.call('close', {}));
    }
    const shares = clients.map((): ClientDevice[] => []);
    directory.devices.forEach((device, index) => shares[index % clients.length]!.push(device));

    let url: string | undefined;
    let serving: { relay: RelayTuning; tracing: boolean } | undefined;
    let heldCount = 0;
    const serve = async (
      relay: RelayTuning,
      { tracing = false }: { readonly tracing?: boolean } = {},
    ): Promise<void> => {
      if (url) {
        await Promise.all(clients.map((client) => client.call('close', {})));
        await server.call('stop', {});
        url = undefined;
        serving = undefined;
        heldCount = 0;
      }
      const { port } = await server.call('start', {
        databaseUrl: database.url,
        jwtSecret,
        maxConnections: options.gatewayConnections,
        relay,
        probeRelay: options.probeRelay,
        metrics: options.gatewayMetrics,
        traceSampleRatio: options.traceSampleRatio,
        receivedReportMs: options.receivedReportMs,
        ...(tracing && { otlpEndpoint: otlp.url }),
      });
      const address = `http://127.0.0.1:${port}`;
      const connectStart = performance.now();
      const connected = await Promise.all(
        clients.map((client, index) =>
          client.call('connect', { url: address, devices: shares[index]!, concurrency: 20 }),
        ),
      );
      const total = connected.reduce((sum, result) => sum + result.connected, 0);
      if (total !== directory.devices.length) {
        const failures = connected.flatMap((result) => result.failures);
        throw new Error(
          `only ${total} of ${directory.devices.length} clients subscribed: ${failures.join('; ')}`,
        );
      }
      url = address;
      serving = { relay, tracing };
      log(
        `gateway ${JSON.stringify(relay)}${tracing ? ' traced' : ''}: connected and ` +
          `subscribed ${total} clients in ${Math.round(performance.now() - connectStart)} ms`,
      );
    };

    const useTracing = async (
      tracing: boolean,
      { fresh = false }: { readonly fresh?: boolean } = {},
    ): Promise<void> => {
      if (!serving) throw new Error('useTracing needs a serving gateway; call serve first');
      if (fresh || serving.tracing !== tracing) await serve(serving.relay, { tracing });
    };

    const setDeviceAcks = async (report: boolean): Promise<void> => {
      await Promise.all(clients.map((client) => client.call('deviceAcks', { report })));
    };

    const holdStreams = async (total: number): Promise<void> => {
      const wanted = total - directory.conversations.length;
      if (!url) throw new Error('holdStreams needs a serving gateway; call serve first');
      if (wanted > held.streams.length) {
        throw new Error(`only ${held.streams.length} streams seeded to hold; ${wanted} wanted`);
      }
      if (wanted === heldCount) return;
      if (wanted < heldCount) {
        await clients[0]!.call('closeHolder', { token: held.token });
        heldCount = 0;
      }
      const start = performance.now();
      const result = await clients[0]!.call('subscribeMany', {
        url,
        token: held.token,
        streams: held.streams.slice(heldCount, wanted),
        concurrency: 50,
      });
      if (result.subscribed !== wanted - heldCount) {
        throw new Error(`holding streams failed: ${result.failures.join('; ')}`);
      }
      heldCount = wanted;
      log(`gateway tracks ${total} streams (held in ${Math.round(performance.now() - start)} ms)`);
    };

    return {
      database,
      directory,
      serve,
      useTracing,
      setDeviceAcks,
      holdStreams,
      close,
      rig: {
        server,
        clients,
        writer: new MessageWriter(
          { durable: database.pool, asynchronous: asyncPool },
          directory.conversations,
          options.bodyBytes,
        ),
        conversations: directory.conversations,
        bodyBytes: options.bodyBytes,
        writerTickMs: options.writerTickMs,
        drainStallMs: options.drainStallMs,
        busyRetry: options.busyRetry,
        otlp,
        log,
        waits,
        cpu: new CpuSampler({
          gateway: [server.pid],
          clients: clients.map((client) => client.pid),
          writer: [process.pid],
          postgres: 'postgres',
        }),
      },
    };
  } catch (error) {
    await close();
    throw error;
  }
}
