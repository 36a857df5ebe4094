import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_RECEIVED_REPORT_MS } from '@ccs/protocol';
import { DEFAULT_TRACE_SAMPLE_RATIO } from '@ccs/server';
import { Command, InvalidArgumentError } from 'commander';
import type { RelayTuning } from './bench-ipc.js';

/** packages/loadgen/src/delivery-bench (or dist/delivery-bench when built) → the workspace root. */
const workspaceRoot = fileURLToPath(new URL('../../../../', import.meta.url));

/** The bench's settings, defaults applied (`--quick` ones included). */
export interface BenchOptions {
  readonly quick: boolean;
  readonly out: string;
  readonly clients: number;
  readonly devicesPerConversation: number;
  readonly devicesPerUser: number;
  readonly bodyBytes: number;
  readonly moderateWrites: number;
  readonly phaseMs: number;
  readonly stepMs: number;
  readonly repeats: number;
  readonly ceilingMs: number;
  readonly idleMs: number;
  readonly saturationStart: number;
  readonly maxSteps: number;
  /** Writes/s of the streams-flatness phases; undefined: what CCS committed at saturation. */
  readonly flatnessWrites: number | undefined;
  readonly clientProcesses: number;
  readonly writerConnections: number;
  readonly writerTickMs: number;
  readonly gatewayConnections: number;
  /** Give the gateway Prometheus metrics, as the sync-server does. */
  readonly gatewayMetrics: boolean;
  /**
   * What the gateway asks of devices in its subscribe answers (`receivedReportMs`): how often at
   * most each device reports `changes:received` in the device-acks variant.
   */
  readonly ackIntervalMs: number;
  /** Share of the changes the tracing variant traces (the sync-server's default). */
  readonly traceSampleRatio: number;
  /** Rounds of the moderate load (plain CCS, device acks, tracing) for the overhead comparison. */
  readonly overheadRounds: number;
  readonly relay: RelayTuning;
  readonly profileServer: string | undefined;
  readonly probeRelay: boolean;
  readonly waitQuietSeconds: number;
  readonly busyRetries: number;
  readonly setupSql: string | undefined;
}

/** What commander parses; `undefined` where the default depends on `--quick`. */
interface RawOptions {
  quick: boolean;
  out: string;
  clients: number;
  devicesPerConversation: number;
  devicesPerUser: number;
  bodyBytes: number;
  moderateWrites: number;
  phaseSeconds?: number;
  stepSeconds?: number;
  repeats?: number;
  ceilingSeconds?: number;
  idleSeconds?: number;
  saturationStart: number;
  maxSteps: number;
  flatnessWrites?: number;
  clientProcesses: number;
  writerConnections: number;
  writerTickMs: number;
  gatewayConnections: number;
  gatewayMetrics: boolean;
  ackIntervalMs: number;
  traceSampleRatio: number;
  overheadRounds?: number;
  relayBusyTickMs?: number;
  relayIdleTickMs?: number;
  relayBatchSize?: number;
  profileServer?: string;
  probeRelay: boolean;
  waitQuietSeconds: number;
  busyRetries: number;
  setupSql?: string;
}

function sampleRatio(value: string): number {
  const parsed = Number(value);
  if (!(parsed > 0 && parsed <= 1)) throw new InvalidArgumentError('must be in (0, 1]');
  return parsed;
}

function positiveInteger(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed <= 0) {
    throw new InvalidArgumentError('expected a positive integer');
  }
  return parsed;
}

const program = new Command('realtime-bench')
  .description(
    'CCS delivery vs bare socket.io emit: moderate load, saturation, write ceiling, streams ' +
      'flatness, and what device acks and tracing cost',
  )
  .option('--quick', 'short phases, one repeat (smoke run, under two minutes)', false)
  .option(
    '--out <file>',
    'JSON report path (relative: to the directory npm was run from)',
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
    'duration of each moderate and flatness phase (default 10, quick 3)',
    positiveInteger,
  )
  .option(
    '--step-seconds <n>',
    'duration of each saturation step (default 4, quick 2)',
    positiveInteger,
  )
  .option(
    '--repeats <n>',
    'saturation searches and write-ceiling runs per mode (default 3, quick 1)',
    positiveInteger,
  )
  .option(
    '--ceiling-seconds <n>',
    'duration of each write-ceiling run (default 3, quick 2)',
    positiveInteger,
  )
  .option(
    '--idle-seconds <n>',
    'idle window for idleQueriesPerSec (default 5, quick 3)',
    positiveInteger,
  )
  .option('--saturation-start <n>', 'writes/s of the first saturation step', positiveInteger, 1000)
  .option('--max-steps <n>', 'saturation steps at most, per search', positiveInteger, 8)
  .option(
    '--flatness-writes <n>',
    'writes/s of the streams-flatness phases (default: 80 % of what CCS committed at saturation)',
    positiveInteger,
  )
  .option('--client-processes <n>', 'processes the clients are spread over', positiveInteger, 2)
  .option('--writer-connections <n>', 'pg connections of the CCS writer', positiveInteger, 8)
  .option(
    '--writer-tick-ms <n>',
    'CCS writer schedule tick (every message is still its own INSERT)',
    positiveInteger,
    5,
  )
  .option('--gateway-connections <n>', 'pg pool size of the gateway', positiveInteger, 10)
  .option('--no-gateway-metrics', 'run the gateway without its Prometheus metrics')
  .option(
    '--ack-interval-ms <n>',
    'device-acks variant: the gateway asks each device for changes:received at most this often (CCS_DEVICE_REPORT_MS default)',
    positiveInteger,
    DEFAULT_RECEIVED_REPORT_MS,
  )
  .option(
    '--trace-sample-ratio <ratio>',
    'tracing variant: share of the changes traced, in (0, 1] (CCS_OTLP_SAMPLE_RATIO default)',
    sampleRatio,
    DEFAULT_TRACE_SAMPLE_RATIO,
  )
  .option(
    '--overhead-rounds <n>',
    'rounds of the moderate load with plain CCS, device acks and tracing (default 3, quick 1)',
    positiveInteger,
  )
  .option(
    '--relay-busy-tick-ms <n>',
    "relay busyTickMs (gateway's default if unset)",
    positiveInteger,
  )
  .option(
    '--relay-idle-tick-ms <n>',
    "relay idleTickMs (gateway's default if unset)",
    positiveInteger,
  )
  .option('--relay-batch-size <n>', "relay batchSize (gateway's default if unset)", positiveInteger)
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

/**
 * Parses the command line (`process.argv` by default) and applies the defaults. Relative paths
 * are taken from `cwd`: by default where npm was run from (`INIT_CWD`), not the package
 * directory npm runs the script in.
 */
export function parseBenchOptions(
  argv: readonly string[] = process.argv,
  cwd: string = process.env['INIT_CWD'] ?? process.cwd(),
): BenchOptions {
  const raw = program.parse([...argv]).opts<RawOptions>();
  const quick = raw.quick;
  return {
    quick,
    out: path.resolve(cwd, raw.out),
    clients: raw.clients,
    devicesPerConversation: raw.devicesPerConversation,
    devicesPerUser: raw.devicesPerUser,
    bodyBytes: raw.bodyBytes,
    moderateWrites: raw.moderateWrites,
    phaseMs: (raw.phaseSeconds ?? (quick ? 3 : 10)) * 1000,
    stepMs: (raw.stepSeconds ?? (quick ? 2 : 4)) * 1000,
    repeats: raw.repeats ?? (quick ? 1 : 3),
    ceilingMs: (raw.ceilingSeconds ?? (quick ? 2 : 3)) * 1000,
    idleMs: (raw.idleSeconds ?? (quick ? 3 : 5)) * 1000,
    saturationStart: raw.saturationStart,
    maxSteps: quick ? Math.min(raw.maxSteps, 5) : raw.maxSteps,
    flatnessWrites: raw.flatnessWrites,
    clientProcesses: raw.clientProcesses,
    writerConnections: raw.writerConnections,
    writerTickMs: raw.writerTickMs,
    gatewayConnections: raw.gatewayConnections,
    gatewayMetrics: raw.gatewayMetrics,
    ackIntervalMs: raw.ackIntervalMs,
    traceSampleRatio: raw.traceSampleRatio,
    overheadRounds: raw.overheadRounds ?? (quick ? 1 : 3),
    relay: {
      ...(raw.relayBusyTickMs !== undefined && { busyTickMs: raw.relayBusyTickMs }),
      ...(raw.relayIdleTickMs !== undefined && { idleTickMs: raw.relayIdleTickMs }),
      ...(raw.relayBatchSize !== undefined && { batchSize: raw.relayBatchSize }),
    },
    profileServer: raw.profileServer && path.resolve(cwd, raw.profileServer),
    probeRelay: raw.probeRelay,
    waitQuietSeconds: raw.waitQuietSeconds,
    busyRetries: raw.busyRetries,
    setupSql: raw.setupSql && path.resolve(cwd, raw.setupSql),
  };
}
