/**
 * `nx run realtime:bench`: CCS delivery (single-row INSERT → trigger → change_log → the relay's
 * tail → `changes`) against bare `io.to(room).emit` on the same server and clients, at a moderate
 * load and at saturation, plus what capture costs writers, whether delivery stays flat in the
 * streams tracked, what an idle gateway asks of PostgreSQL, and what device acks and tracing cost
 * CCS delivery (two variants of the CCS load, measured beside it). Writes
 * bench-results/realtime.json at the workspace root. See README.md.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describeMachine, waitForQuietMachine } from '../measure/machine-info.js';
import { measureRepeatedSaturation } from '../measure/repeated-saturation.js';
import { parseBenchOptions, type BenchOptions } from './bench-cli.js';
import type { LoadMode } from './bench-ipc.js';
import { buildBenchReport } from './bench-report.js';
import { startBenchRig } from './bench-rig.js';
import { LoadPhaseRunner, type PhaseResult } from './load-phase-runner.js';
import type { CommitMode } from './message-writer.js';
import { measureStreamsFlatness, streamsToHold } from './streams-flatness.js';
import type { Overhead, OverheadRounds, VariantOverhead } from './variant-overhead.js';
import { measureWriteCeiling } from './write-ceiling.js';

/** The streams-flatness load, as a share of the writes/s CCS committed at saturation. */
const FLATNESS_LOAD = 0.8;

/** Body stamp of the write-ceiling INSERTs: a phase the load runner never uses. */
const CEILING_PHASE = 0;

/**
 * How the CCS load is delivered: `plain` (no device acks, no tracer: the CCS of every other
 * phase), `deviceAcks` (devices report `changes:received`), `tracing` (a traced gateway). Bare
 * emits run with `plain`.
 */
type CcsVariant = 'plain' | 'deviceAcks' | 'tracing';

const VARIANT_LABELS: Readonly<Record<CcsVariant, string>> = {
  plain: 'ccs',
  deviceAcks: 'ccs device acks',
  tracing: 'ccs tracing',
};

/** The overhead rounds' phases, in the order each round runs them. */
const OVERHEAD_VARIANTS: readonly (readonly [keyof OverheadRounds, CcsVariant])[] = [
  ['ccs', 'plain'],
  ['ccsDeviceAcks', 'deviceAcks'],
  ['ccsTracing', 'tracing'],
];

function describeOverhead(label: string, overhead: VariantOverhead): string {
  const point = (name: string, compared: Overhead): string =>
    `${name} ${compared.plain.deliveriesPerSec} → ${compared.variant.deliveriesPerSec} ` +
    `deliveries/s (ratio ${compared.ratio}, overhead ` +
    `${(compared.throughputOverhead * 100).toFixed(1)} %), p50 ${compared.plain.p50Ms} → ` +
    `${compared.variant.p50Ms} ms (${compared.p50Ratio}), p99 ${compared.plain.p99Ms} → ` +
    `${compared.variant.p99Ms} ms (${compared.p99Ratio}), gateway cpu per delivery ` +
    `×${compared.gatewayCpuPerDeliveryRatio}`;
  const noise = overhead.moderate.plain.p99Rounds;
  const interval = overhead.moderate.p99Interval;
  return (
    `${label}: ${point('moderate', overhead.moderate)}` +
    (noise && noise.values.length > 1 ? ` (plain p99 rounds spread ${noise.spreadPct} %)` : '') +
    `, p99 ratio 90 % interval ${interval.low}–${interval.high} (${overhead.p99Verdict})` +
    `; ${point('saturation', overhead.saturation)}; within 5 %: ` +
    (overhead.within5Pct ? 'yes' : 'NO')
  );
}

function describePhase(label: string, result: PhaseResult): string {
  return (
    `${label}: ${result.offeredWritesPerSec} writes/s → ${result.deliveriesPerSec} deliveries/s, ` +
    `p50 ${result.p50Ms} p99 ${result.p99Ms} max ${result.maxMs} ms, ` +
    `commit→receive p99 ${result.commitToReceive.p99Ms} ms, ` +
    `lost ${result.lost} dup ${result.duplicated} unordered ${result.outOfOrder}` +
    (result.resyncs ? ` resyncs ${result.resyncs}` : '') +
    (result.silentClients ? ` silent clients ${result.silentClients}` : '') +
    (result.lateDeliveries ? ` (late from earlier phases ${result.lateDeliveries})` : '') +
    ', ' +
    `cpu ${JSON.stringify(result.cpuCores)}, ${result.gatewayQueriesPerSec} gateway queries/s` +
    (result.commit ? `, commit p50 ${result.commit.p50Ms} p99 ${result.commit.p99Ms} ms` : '') +
    (result.postgresWaits ? `, pg waits ${JSON.stringify(result.postgresWaits)}` : '') +
    (result.deviceAcks ? `, device acks ${result.deviceAcks.sentPerSec}/s` : '') +
    (result.tracing
      ? `, spans ${result.tracing.spansPerSec}/s (exported ${result.tracing.exportedSpansPerSec}/s ` +
        `in ${result.tracing.exportsPerSec} requests/s)`
      : '') +
    (result.relay
      ? `, issue→broadcast p50 ${result.relay.issueToBroadcast.p50Ms} p99 ` +
        `${result.relay.issueToBroadcast.p99Ms} ms, ${result.relay.changesPerBroadcast} changes/broadcast`
      : '')
  );
}

async function main(options: BenchOptions): Promise<void> {
  const loadAverage = os.loadavg()[0] ?? 0;
  const runStart = performance.now();
  const log = (line: string): void =>
    console.error(`[bench ${((performance.now() - runStart) / 1000).toFixed(1)}s] ${line}`);
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
  const conversations = options.clients / options.devicesPerConversation;
  const started = await startBenchRig({
    adminUrl,
    clients: options.clients,
    devicesPerConversation: options.devicesPerConversation,
    devicesPerUser: options.devicesPerUser,
    heldStreams: streamsToHold(conversations),
    bodyBytes: options.bodyBytes,
    clientProcesses: options.clientProcesses,
    writerConnections: options.writerConnections,
    writerTickMs: options.writerTickMs,
    gatewayConnections: options.gatewayConnections,
    gatewayMetrics: options.gatewayMetrics,
    traceSampleRatio: options.traceSampleRatio,
    receivedReportMs: options.ackIntervalMs,
    probeRelay: options.probeRelay,
    serverNodeFlags: options.profileServer
      ? ['--cpu-prof', `--cpu-prof-dir=${options.profileServer}`]
      : [],
    drainStallMs: 5000,
    busyRetry: { maxOtherCores: 0.3, retries: options.busyRetries },
    setupSql: options.setupSql ? await readFile(options.setupSql, 'utf8') : undefined,
    log,
  });
  const interrupt = (): void => {
    log('interrupted; cleaning up');
    void started.close().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  try {
    // Before any gateway tails the database: what capture costs the writers alone.
    const writeCeiling = await measureWriteCeiling({
      writer: started.rig.writer,
      pool: started.database.pool,
      connections: options.writerConnections,
      durationMs: options.ceilingMs,
      repeats: options.repeats,
      phase: CEILING_PHASE,
      log,
    });
    log(`write ceiling ${JSON.stringify(writeCeiling)}`);

    await started.serve(options.relay);
    const runner = new LoadPhaseRunner(started.rig);
    const phases: { label: string; result: PhaseResult }[] = [];
    const record = (label: string, result: PhaseResult): void => {
      phases.push({ label, result });
      log(describePhase(label, result));
    };
    /**
     * Starts the gateway again when tracing is to be turned on or off (a gateway takes its tracer
     * at its start), or always when `fresh`, and tells the devices whether to report what they
     * receive.
     */
    const useVariant = async (variant: CcsVariant, fresh = false): Promise<void> => {
      await started.useTracing(variant === 'tracing', { fresh });
      await started.setDeviceAcks(variant === 'deviceAcks');
    };
    /** How a phase runs: its variant, on a freshly started gateway or not, how writes commit. */
    interface PhaseSetting {
      readonly variant?: CcsVariant;
      readonly fresh?: boolean;
      readonly commits?: CommitMode;
    }
    const run = async (
      label: string,
      mode: LoadMode,
      writesPerSec: number,
      durationMs: number,
      { variant = 'plain', fresh = false, commits = 'durable' }: PhaseSetting = {},
    ) => {
      await useVariant(variant, fresh);
      const result = await runner.run(mode, writesPerSec, durationMs, { commits });
      record(label, result);
      return result;
    };
    const warmUp = async (
      label: string,
      mode: LoadMode,
      { variant = 'plain', fresh = false, commits = 'durable' }: PhaseSetting = {},
    ): Promise<void> => {
      await useVariant(variant, fresh);
      record(
        label,
        await runner.run(mode, options.moderateWrites / 2, 2000, { retryWhenBusy: false, commits }),
      );
    };
    /** The mode whose search is under way: a search of another mode starts a fresh gateway. */
    let searching: string | undefined;
    /**
     * A saturation mode; with `freshPerSearch`, each of its searches starts on a freshly started
     * gateway (and fresh connections), so that modes taking turns, traced or not, start alike.
     */
    const saturationMode = (
      label: string,
      mode: LoadMode,
      startWritesPerSec: number,
      { variant = 'plain', commits = 'durable' }: PhaseSetting = {},
      freshPerSearch = false,
    ) => ({
      run: (writesPerSec: number) => {
        const fresh = freshPerSearch && searching !== label;
        searching = label;
        return run(`saturation ${label} @${writesPerSec}`, mode, writesPerSec, options.stepMs, {
          variant,
          fresh,
          commits,
        });
      },
      startWritesPerSec,
    });
    const searchOptions = {
      repeats: options.repeats,
      maxSteps: options.maxSteps,
      maxTailMs: options.stepMs,
    };

    await warmUp('warm-up ccs', 'ccs');
    await warmUp('warm-up bare', 'bareEmit');
    const moderate = {
      ccs: await run('moderate ccs', 'ccs', options.moderateWrites, options.phaseMs),
      bareEmit: await run('moderate bare', 'bareEmit', options.moderateWrites, options.phaseMs),
    };
    const idle = await runner.idle(options.idleMs);
    log(`idle ${JSON.stringify(idle)}`);

    // CCS against bare emits, searches taking turns, each on a freshly started gateway.
    const saturated = await measureRepeatedSaturation(
      {
        ccs: saturationMode('ccs', 'ccs', options.saturationStart, {}, true),
        bareEmit: saturationMode('bare', 'bareEmit', options.saturationStart, {}, true),
      },
      searchOptions,
    );

    // What device acks and tracing cost: the moderate load again, plain CCS and each variant in
    // turn, round after round, each phase on a freshly started gateway (traced for tracing), so
    // that none of them is the only one to follow a restart; then each searched to saturation,
    // taking turns. Writes commit asynchronously here (see `CommitMode`): the variants
    // change what the gateway and the devices do, and the disk's fsync jitter would drown it.
    // Each variant is warmed up once (its code has not run yet), on a freshly started gateway as
    // the phases it warms up.
    const commits = 'asynchronous';
    for (const [, variant] of OVERHEAD_VARIANTS) {
      await warmUp(`warm-up ${VARIANT_LABELS[variant]} (async commits)`, 'ccs', {
        variant,
        fresh: true,
        commits,
      });
    }
    const overheadRounds: { [Variant in keyof OverheadRounds]: PhaseResult[] } = {
      ccs: [],
      ccsDeviceAcks: [],
      ccsTracing: [],
    };
    for (let round = 1; round <= options.overheadRounds; round++) {
      for (const [name, variant] of OVERHEAD_VARIANTS) {
        overheadRounds[name].push(
          await run(
            `moderate ${VARIANT_LABELS[variant]} round ${round} (async commits)`,
            'ccs',
            options.moderateWrites,
            options.phaseMs,
            { variant, fresh: true, commits },
          ),
        );
      }
    }
    const searchVariant = (variant: CcsVariant) =>
      saturationMode(
        `${VARIANT_LABELS[variant]} (async commits)`,
        'ccs',
        options.saturationStart,
        { variant, commits },
        true,
      );
    const overheadSaturation = await measureRepeatedSaturation(
      {
        ccs: searchVariant('plain'),
        ccsDeviceAcks: searchVariant('deviceAcks'),
        ccsTracing: searchVariant('tracing'),
      },
      searchOptions,
    );
    await useVariant('plain');
    const streamsFlatness = await measureStreamsFlatness({
      runner,
      holdStreams: (total) => started.holdStreams(total),
      // 80 % of what CCS committed at its saturation point: heavy, but below the point where the
      // writers' own queue grows (at 100 % one run in three overloaded, and the queue, not the
      // tracked streams, set the result).
      writesPerSec:
        options.flatnessWrites ?? Math.round(FLATNESS_LOAD * saturated.ccs.point.writesPerSec),
      durationMs: options.phaseMs,
      onPhase: record,
    });
    log(
      `streams flatness: ${streamsFlatness.at100} → ${streamsFlatness.at10000} deliveries/s ` +
        `at ${streamsFlatness.offeredWritesPerSec} writes/s (ratio ${streamsFlatness.ratio})`,
    );

    // A fresh gateway that sends one frame per change: what coalescing is worth.
    const uncoalesced = { ...options.relay, coalesce: false };
    await started.serve(uncoalesced);
    await warmUp('warm-up ccs uncoalesced', 'ccs');
    const { ccsUncoalesced } = await measureRepeatedSaturation(
      {
        ccsUncoalesced: saturationMode(
          'ccs uncoalesced',
          'ccs',
          Math.round(saturated.ccs.point.offeredWritesPerSec / 1.5 ** 2),
        ),
      },
      searchOptions,
    );

    const report = buildBenchReport({
      moderate,
      overheadRounds,
      saturation: { ...saturated, ccsUncoalesced },
      overheadSaturation,
      writeCeiling,
      streamsFlatness,
      idle,
      phases,
      startedAt,
      runSeconds: (performance.now() - runStart) / 1000,
      setup: {
        clients: options.clients,
        conversations,
        devicesPerConversation: options.devicesPerConversation,
        bodyBytes: options.bodyBytes,
        clientProcesses: options.clientProcesses,
        writerConnections: options.writerConnections,
        writerTickMs: options.writerTickMs,
        gatewayConnections: options.gatewayConnections,
        gatewayMetrics: options.gatewayMetrics,
        ackIntervalMs: options.ackIntervalMs,
        traceSampleRatio: options.traceSampleRatio,
        overheadRounds: options.overheadRounds,
        moderateWritesPerSec: options.moderateWrites,
        phaseSeconds: options.phaseMs / 1000,
        stepSeconds: options.stepMs / 1000,
        repeats: options.repeats,
        relay: options.relay,
        probeRelay: options.probeRelay,
        setupSql: options.setupSql ?? null,
        machine: await describeMachine(started.database.pool, { busyCores, loadAverage }),
      },
    });
    await mkdir(path.dirname(options.out), { recursive: true });
    await writeFile(options.out, `${JSON.stringify(report, null, 2)}\n`);
    log(
      `ratio ${report.ratio}, uncoalesced ${report.uncoalescedRatio}, write ceiling ` +
        `${report.writeCeiling.ratio}, flatness ${report.streamsFlatness.ratio}, sql writer p99 ` +
        `${report.sqlWriterLatency.p99Ms} ms, idle ${report.idleQueriesPerSec} queries/s`,
    );
    log(describeOverhead('device acks', report.overhead.deviceAcks));
    log(describeOverhead('tracing', report.overhead.tracing));
    log(`goals ${JSON.stringify(report.goals)}`);
    log(`wrote ${options.out}`);
  } finally {
    process.off('SIGINT', interrupt);
    process.off('SIGTERM', interrupt);
    await started.close();
  }
}

main(parseBenchOptions()).catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
