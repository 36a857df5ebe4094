import { randomBytes } from 'node:crypto';
// Like the tests, the bench runs on a throwaway database cloned from the migrated template.
import { createTestDatabase, ensureTemplateDatabase, type TestDatabase } from '@ccs/test-env';
import type { ClientDevice, ClientWorkerCalls, ServerCalls } from './bench-ipc.js';
import { seedBenchDirectory, type BenchDirectory } from './bench-directory.js';
import { ChildLink } from './child-link.js';
import { CpuSampler } from './cpu-sampler.js';
import type { BenchRig } from './load-phase-runner.js';
import { MessageWriter } from './message-writer.js';
import { WaitEventSampler } from './wait-event-sampler.js';

/** Options of {@link startBenchRig}. */
export interface BenchRigOptions {
  /** Maintenance database to create (and drop) the bench database from. */
  readonly adminUrl: string;
  readonly clients: number;
  readonly devicesPerConversation: number;
  readonly devicesPerUser: number;
  readonly bodyBytes: number;
  readonly clientProcesses: number;
  readonly writerConnections: number;
  readonly writerTickMs: number;
  readonly gatewayConnections: number;
  readonly relay: { readonly pollIntervalMs?: number; readonly batchSize?: number };
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

/** A started rig and how to take it down. */
export interface StartedBenchRig {
  readonly rig: BenchRig;
  readonly database: TestDatabase;
  readonly directory: BenchDirectory;
  /** Disconnects the clients, stops the server, drops the database; safe to call twice. */
  close(): Promise<void>;
}

/**
 * Everything the phases run on: a fresh migrated database with the simulated population, the
 * gateway in its own process, and the clients spread over client processes, all connected and
 * subscribed before the first phase.
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
      { label: 'realtime_bench', maxConnections: options.writerConnections },
    );
    teardown.push(() => database.drop());
    const waits = await WaitEventSampler.connect(database.url);
    teardown.push(() => waits.close());
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
    const directory = await seedBenchDirectory(database.pool, {
      conversations: options.clients / options.devicesPerConversation,
      usersPerConversation,
      devicesPerUser: options.devicesPerUser,
      jwtSecret,
    });
    log(
      `seeded ${directory.devices.length} devices in ${directory.conversations.length} conversations`,
    );

    const server = await ChildLink.fork<ServerCalls>(
      new URL('./bench-server.ts', import.meta.url),
      {
        nodeFlags: options.serverNodeFlags,
      },
    );
    teardown.push(() => server.exit());
    teardown.push(() => server.call('stop', {}));
    const { port } = await server.call('start', {
      databaseUrl: database.url,
      jwtSecret,
      maxConnections: options.gatewayConnections,
      relay: options.relay,
      probeRelay: options.probeRelay,
    });

    const clients = await Promise.all(
      Array.from({ length: options.clientProcesses }, () =>
        ChildLink.fork<ClientWorkerCalls>(new URL('./client-worker.ts', import.meta.url)),
      ),
    );
    for (const client of clients) {
      teardown.push(() => client.exit());
      teardown.push(() => client.call('close', {}));
    }
    const shares = clients.map((): ClientDevice[] => []);
    directory.devices.forEach((device, index) => shares[index % clients.length]!.push(device));
    const connectStart = performance.now();
    const connected = await Promise.all(
      clients.map((client, index) =>
        client.call('connect', {
          url: `http://127.0.0.1:${port}`,
          devices: shares[index]!,
          concurrency: 20,
        }),
      ),
    );
    const failures = connected.flatMap((result) => result.failures);
    const total = connected.reduce((sum, result) => sum + result.connected, 0);
    if (total !== directory.devices.length) {
      throw new Error(
        `only ${total} of ${directory.devices.length} clients subscribed: ${failures.join('; ')}`,
      );
    }
    log(
      `connected and subscribed ${total} clients in ${Math.round(performance.now() - connectStart)} ms`,
    );

    return {
      database,
      directory,
      close,
      rig: {
        server,
        clients,
        writer: new MessageWriter(database.pool, directory.conversations, options.bodyBytes),
        conversations: directory.conversations,
        bodyBytes: options.bodyBytes,
        writerTickMs: options.writerTickMs,
        drainStallMs: options.drainStallMs,
        busyRetry: options.busyRetry,
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
