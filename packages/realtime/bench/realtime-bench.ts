/**
 * `nx run realtime:bench`: CCS delivery (INSERT → trigger → change_log → ChangeRelay → `change`)
 * against bare `io.to(room).emit` on the same server and clients, at a moderate load and at
 * saturation. Writes bench-results/realtime.json at the workspace root. See README.md.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import { buildBenchReport } from './bench-report.js';
import { startBenchRig } from './bench-rig.js';
import { LoadPhaseRunner, type PhaseResult } from './load-phase-runner.js';
import { describeMachine, waitForQuietMachine } from './machine-info.js';
import { findSaturation } from './saturation-search.js';

const workspaceRoot = fileURLToPath(new URL('../../../', import.meta.url));

function positiveInteger(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed <= 0) {
    throw new InvalidArgumentError('expected a positive integer');
  }
  return parsed;
}

interface CliOptions {
  quick: boolean;
  out: string;
  clients: number;
  devicesPerConversation: number;
  devicesPerUser: number;
  bodyBytes: number;
  moderateWrites: number;
  phaseSeconds?: number;
  stepSeconds?: number;
  saturationStart: number;
  maxSteps: number;
  clientProcesses: number;
  writerConnections: number;
  writerTickMs: number;
  gatewayConnections: number;
  relayPollMs?: number;
  relayBatchSize?: number;
  profileServer?: string;
  probeRelay: boolean;
  waitQuietSeconds: number;
  busyRetries: number;
  setupSql?: string;
}

const program = new Command('realtime-bench')
  .description('CCS delivery vs bare socket.io emit, moderate load and saturation')
  .option('--quick', 'short phases and fewer saturation steps (smoke run, about a minute)', false)
  .option(
    '--out <file>',
    'JSON report path',
    path.join(workspaceRoot, 'bench-results/realtime.json'),
  )
  .option('--clients <n>', 'connected devices', positiveInteger, 1000)
  .option(
    '--devices-per-conversation <n>',
    'devices subscribed to each conversation',
    positiveInteger,
    20,
  )
  .option('--devices-per-user <n>', 'devices of each member', positiveInteger, 4)
  .option('--body-bytes <n>', 'message body size', positiveInteger, 200)
  .option('--moderate-writes <n>', 'writes/s of the moderate load', positiveInteger, 500)
  .option(
    '--phase-seconds <n>',
    'duration of each moderate phase (default 10, quick 3)',
    positiveInteger,
  )
  .option(
    '--step-seconds <n>',
    'duration of each saturation step (default 4, quick 2)',
    positiveInteger,
  )
  .option('--saturation-start <n>', 'writes/s of the first saturation step', positiveInteger, 1000)
  .option('--max-steps <n>', 'saturation steps at most, per mode', positiveInteger, 8)
  .option('--client-processes <n>', 'processes the clients are spread over', positiveInteger, 2)
  .option('--writer-connections <n>', 'pg connections of the CCS writer', positiveInteger, 8)
  .option(
    '--writer-tick-ms <n>',
    'CCS writer tick; rows of one conversation due in a tick share one INSERT',
    positiveInteger,
    5,
  )
  .option('--gateway-connections <n>', 'pg pool size of the gateway', positiveInteger, 10)
  .option(
    '--relay-poll-ms <n>',
    "ChangeRelay pollIntervalMs (gateway's default if unset)",
    positiveInteger,
  )
  .option(
    '--relay-batch-size <n>',
    "ChangeRelay batchSize (gateway's default if unset)",
    positiveInteger,
  )
  .option('--profile-server <dir>', 'write a V8 CPU profile of the server process into <dir>')
  .option(
    '--wait-quiet-seconds <n>',
    'wait up to this long for other processes to leave the CPU idle before starting',
    (value: string) => Number(value),
    60,
  )
  .option(
    '--busy-retries <n>',
    'phases run again (in all) when other processes used over 0.3 cores during them',
    (value: string) => Number(value),
    3,
  )
  .option(
    '--setup-sql <file>',
    'experiments: SQL file run on the bench database before the phases (e.g. a capture variant)',
  )
  .option('--probe-relay', 'time INSERT → relay broadcast inside the server (diagnostics)', false);

async function main(options: CliOptions): Promise<void> {
  const loadAverage = os.loadavg()[0] ?? 0;
  const runStart = performance.now();
  const log = (line: string): void =>
    console.error(`[bench ${((performance.now() - runStart) / 1000).toFixed(1)}s] ${line}`);
  const phaseMs = (options.phaseSeconds ?? (options.quick ? 3 : 10)) * 1000;
  const stepMs = (options.stepSeconds ?? (options.quick ? 2 : 4)) * 1000;
  const relay = {
    ...(options.relayPollMs !== undefined && { pollIntervalMs: options.relayPollMs }),
    ...(options.relayBatchSize !== undefined && { batchSize: options.relayBatchSize }),
  };
  // The edge of the tool: the only place the environment is read.
  const adminUrl =
    process.env['CCS_TEST_DATABASE_URL'] ??
    process.env['DATABASE_URL'] ??
    'postgres://postgres@127.0.0.1:5432/postgres';

  const busyCores = await waitForQuietMachine({
    maxBusyCores: 0.3,
    maxWaitMs: options.waitQuietSeconds * 1000,
    log,
  });
  const startedAt = new Date();
  const started = await startBenchRig({
    adminUrl,
    clients: options.clients,
    devicesPerConversation: options.devicesPerConversation,
    devicesPerUser: options.devicesPerUser,
    bodyBytes: options.bodyBytes,
    clientProcesses: options.clientProcesses,
    writerConnections: options.writerConnections,
    writerTickMs: options.writerTickMs,
    gatewayConnections: options.gatewayConnections,
    relay,
    probeRelay: options.probeRelay,
    serverNodeFlags: options.profileServer
      ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(options.profileServer)}`]
      : [],
    drainStallMs: 5000,
    busyRetry: { maxOtherCores: 0.3, retries: options.busyRetries },
    setupSql: options.setupSql ? await readFile(path.resolve(options.setupSql), 'utf8') : undefined,
    log,
  });
  const interrupt = (): void => {
    log('interrupted; cleaning up');
    void started.close().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  try {
    const runner = new LoadPhaseRunner(started.rig);
    const describe = (label: string, result: PhaseResult): void =>
      log(
        `${label}: ${result.offeredWritesPerSec} writes/s → ${result.deliveriesPerSec} deliveries/s, ` +
          `p50 ${result.p50Ms} p99 ${result.p99Ms} max ${result.maxMs} ms, ` +
          `lost ${result.lost} dup ${result.duplicated}, cpu ${JSON.stringify(result.cpuCores)}` +
          (result.commit
            ? `, commit p50 ${result.commit.p50Ms} p99 ${result.commit.p99Ms} ms`
            : '') +
          (result.postgresWaits ? `, pg waits ${JSON.stringify(result.postgresWaits)}` : '') +
          (result.relay
            ? `, issue→broadcast p50 ${result.relay.issueToBroadcast.p50Ms} p99 ${result.relay.issueToBroadcast.p99Ms} ms` +
              `, ${result.relay.changesPerBroadcast} changes/broadcast, ${result.gatewayQueriesPerSec} gateway queries/s`
            : ''),
      );
    const run = async (label: string, ...args: Parameters<LoadPhaseRunner['run']>) => {
      const result = await runner.run(...args);
      describe(label, result);
      return result;
    };

    await run('warm-up ccs', 'ccs', options.moderateWrites / 2, 2000);
    await run('warm-up bare', 'bareEmit', options.moderateWrites / 2, 2000);
    const moderate = {
      ccs: await run('moderate ccs', 'ccs', options.moderateWrites, phaseMs),
      bareEmit: await run('moderate bare', 'bareEmit', options.moderateWrites, phaseMs),
    };
    const saturate = (mode: 'ccs' | 'bareEmit') =>
      findSaturation((writesPerSec) => runner.run(mode, writesPerSec, stepMs), {
        startWritesPerSec: options.saturationStart,
        maxTailMs: stepMs,
        maxSteps: options.quick ? Math.min(options.maxSteps, 5) : options.maxSteps,
        onStep: (step) => describe(`saturation ${mode}`, step),
      });
    const saturation = { ccs: await saturate('ccs'), bareEmit: await saturate('bareEmit') };

    const report = buildBenchReport({
      moderate,
      saturation,
      startedAt,
      runSeconds: (performance.now() - runStart) / 1000,
      setup: {
        clients: options.clients,
        conversations: started.directory.conversations.length,
        devicesPerConversation: options.devicesPerConversation,
        bodyBytes: options.bodyBytes,
        clientProcesses: options.clientProcesses,
        writerConnections: options.writerConnections,
        writerTickMs: options.writerTickMs,
        gatewayConnections: options.gatewayConnections,
        moderateWritesPerSec: options.moderateWrites,
        phaseSeconds: phaseMs / 1000,
        stepSeconds: stepMs / 1000,
        relay,
        probeRelay: options.probeRelay,
        setupSql: options.setupSql ?? null,
        machine: await describeMachine(started.database.pool, { busyCores, loadAverage }),
      },
    });
    await mkdir(path.dirname(path.resolve(options.out)), { recursive: true });
    await writeFile(path.resolve(options.out), `${JSON.stringify(report, null, 2)}\n`);
    log(`ratio ${report.ratio}; goals ${JSON.stringify(report.goals)}`);
    log(`wrote ${path.resolve(options.out)}`);
  } finally {
    process.off('SIGINT', interrupt);
    process.off('SIGTERM', interrupt);
    await started.close();
  }
}

main(program.parse().opts<CliOptions>()).catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
