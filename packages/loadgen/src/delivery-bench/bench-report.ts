import type { MachineInfo } from '../measure/machine-info.js';
import type {
  RepeatedSaturation,
  SaturationPoint,
  SaturationStep,
} from '../measure/repeated-saturation.js';
import type { RelayTuning } from './bench-ipc.js';
import type { LatencySummary } from './latency-summary.js';
import type { IdleCost, PhaseResult } from './load-phase-runner.js';
import type { StreamsFlatness } from './streams-flatness.js';
import {
  variantOverhead,
  type OverheadRounds,
  type OverheadSaturation,
  type VariantOverhead,
} from './variant-overhead.js';
import type { WriteCeiling } from './write-ceiling.js';

/** A load measured both ways, on the same clients in the same run. */
export interface ComparedLoad {
  readonly ccs: PhaseResult;
  readonly bareEmit: PhaseResult;
}

/** How the run was set up. */
export interface BenchSetup {
  readonly clients: number;
  readonly conversations: number;
  readonly devicesPerConversation: number;
  readonly bodyBytes: number;
  readonly clientProcesses: number;
  readonly writerConnections: number;
  readonly writerTickMs: number;
  readonly gatewayConnections: number;
  /** Whether the gateway ran with its Prometheus metrics (as the sync-server does). */
  readonly gatewayMetrics: boolean;
  /** `changes:received` at most this often per device, in the device-acks variant. */
  readonly ackIntervalMs: number;
  /** Share of the changes traced in the tracing variant. */
  readonly traceSampleRatio: number;
  /** Rounds of the moderate load for the overhead comparison (plain CCS and each variant). */
  readonly overheadRounds: number;
  readonly moderateWritesPerSec: number;
  readonly phaseSeconds: number;
  readonly stepSeconds: number;
  readonly repeats: number;
  /** Relay options passed to the gateway; unset ones are the gateway's defaults. */
  readonly relay: RelayTuning;
  readonly probeRelay: boolean;
  /** The experiment SQL file run on the bench database, if any: such a run is not the baseline. */
  readonly setupSql: string | null;
  readonly machine: MachineInfo;
}

/** A phase that lost, duplicated or reordered deliveries, or made clients resync. */
export interface DeliveryProblem {
  readonly phase: string;
  readonly lost: number;
  readonly duplicated: number;
  readonly outOfOrder: number;
  readonly resyncs: number;
  /** Deliveries of earlier phases that arrived during this one (late, not lost). */
  readonly lateDeliveries: number;
}

/** `bench-results/realtime.json`. */
export interface BenchReport {
  readonly moderate: ComparedLoad;
  /** Per mode, the best step of the median repeat, with every repeat's best in `repeats`. */
  readonly saturation: {
    readonly ccs: SaturationPoint<PhaseResult>;
    readonly bareEmit: SaturationPoint<PhaseResult>;
    /** CCS with the gateway started with `relay.coalesce = false`. */
    readonly ccsUncoalesced: SaturationPoint<PhaseResult>;
  };
  /** saturation.ccs ÷ saturation.bareEmit, medians of deliveries/s */
  readonly ratio: number;
  /** saturation.ccsUncoalesced ÷ saturation.bareEmit, medians of deliveries/s */
  readonly uncoalescedRatio: number;
  /**
   * What device acks and tracing cost, each against plain CCS of the same run: over the moderate
   * rounds (`overheadRounds`) and at saturation (`overheadSaturation`). Those phases commit
   * asynchronously (`PhaseResult.commits`): what they compare happens in the gateway and the
   * devices, and the disk's fsync jitter would drown it.
   */
  readonly overhead: {
    readonly deviceAcks: VariantOverhead;
    readonly tracing: VariantOverhead;
  };
  /** The moderate load again, plain CCS and each variant in turn, round after round. */
  readonly overheadRounds: OverheadRounds;
  /** Plain CCS and each variant at saturation, searches taking turns (asynchronous commits). */
  readonly overheadSaturation: OverheadSaturation<SaturationPoint<PhaseResult>>;
  readonly writeCeiling: WriteCeiling;
  readonly streamsFlatness: StreamsFlatness;
  /** committedAt → receipt of the changes written with plain SQL in moderate.ccs. */
  readonly sqlWriterLatency: LatencySummary & {
    /** `committedAt` is the commit time only when PostgreSQL tracks it; else the write time. */
    readonly committedAtIs: 'commit time' | 'write time';
  };
  /** Gateway queries per second with every client subscribed and nothing written. */
  readonly idleQueriesPerSec: number;
  readonly idle: IdleCost;
  readonly goals: {
    /** moderate.ccs.p99Ms ≤ moderate.bareEmit.p99Ms + 10 */
    readonly moderateP99WithinBarePlus10Ms: boolean;
    /** sqlWriterLatency.p99Ms ≤ 25 */
    readonly sqlWriterP99AtMost25Ms: boolean;
    /** ratio ≥ 1.0 */
    readonly saturationRatioAtLeast1: boolean;
    /** uncoalescedRatio ≥ 0.7 */
    readonly uncoalescedRatioAtLeast0_7: boolean;
    /** writeCeiling.ratio ≥ 0.8 */
    readonly writeCeilingRatioAtLeast0_8: boolean;
    /** 0.9 ≤ streamsFlatness.ratio ≤ 1.1 */
    readonly streamsFlatnessWithin10Pct: boolean;
    /** idleQueriesPerSec ≤ 50 */
    readonly idleQueriesPerSecAtMost50: boolean;
    /** lost, duplicated, outOfOrder and resyncs are 0 in every phase run (see deliveryProblems) */
    readonly noLossNoDuplicatesInOrder: boolean;
    /** overhead.deviceAcks.within5Pct */
    readonly deviceAcksOverheadWithin5Pct: boolean;
    /** overhead.tracing.within5Pct */
    readonly tracingOverheadWithin5Pct: boolean;
  };
  /** Phases (warm-ups included) with a lost, duplicated or out-of-order delivery, or a resync. */
  readonly deliveryProblems: readonly DeliveryProblem[];
  readonly saturationSteps: {
    readonly ccs: readonly SaturationStep<PhaseResult>[];
    readonly bareEmit: readonly SaturationStep<PhaseResult>[];
    readonly ccsUncoalesced: readonly SaturationStep<PhaseResult>[];
  };
  readonly overheadSaturationSteps: OverheadSaturation<readonly SaturationStep<PhaseResult>[]>;
  readonly setup: BenchSetup;
  readonly startedAt: string;
  readonly runSeconds: number;
}

const ratioOf = (numerator: number, denominator: number): number =>
  denominator > 0 ? Math.round((numerator / denominator) * 1000) / 1000 : 0;

export function buildBenchReport(input: {
  readonly moderate: ComparedLoad;
  readonly overheadRounds: OverheadRounds;
  readonly saturation: {
    readonly ccs: RepeatedSaturation<PhaseResult>;
    readonly bareEmit: RepeatedSaturation<PhaseResult>;
    readonly ccsUncoalesced: RepeatedSaturation<PhaseResult>;
  };
  readonly overheadSaturation: OverheadSaturation<RepeatedSaturation<PhaseResult>>;
  readonly writeCeiling: WriteCeiling;
  readonly streamsFlatness: StreamsFlatness;
  readonly idle: IdleCost;
  /** Every phase run, by label, warm-ups included. */
  readonly phases: readonly { readonly label: string; readonly result: PhaseResult }[];
  readonly setup: BenchSetup;
  readonly startedAt: Date;
  readonly runSeconds: number;
}): BenchReport {
  const { ccs, bareEmit, ccsUncoalesced } = input.saturation;
  const searched = input.overheadSaturation;
  const overhead = {
    deviceAcks: variantOverhead(
      { plain: input.overheadRounds.ccs, variant: input.overheadRounds.ccsDeviceAcks },
      { plain: searched.ccs, variant: searched.ccsDeviceAcks },
    ),
    tracing: variantOverhead(
      { plain: input.overheadRounds.ccs, variant: input.overheadRounds.ccsTracing },
      { plain: searched.ccs, variant: searched.ccsTracing },
    ),
  };
  const ratio = ratioOf(ccs.point.repeats.median, bareEmit.point.repeats.median);
  const uncoalescedRatio = ratioOf(
    ccsUncoalesced.point.repeats.median,
    bareEmit.point.repeats.median,
  );
  const sqlWriterLatency = {
    ...input.moderate.ccs.commitToReceive,
    committedAtIs:
      input.setup.machine.trackCommitTimestamp === 'on'
        ? ('commit time' as const)
        : ('write time' as const),
  };
  const deliveryProblems = input.phases
    .filter(
      ({ result }) =>
        result.lost ||
        result.duplicated ||
        result.outOfOrder ||
        result.resyncs ||
        result.lateDeliveries,
    )
    .map(({ label, result }) => ({
      phase: label,
      lost: result.lost,
      duplicated: result.duplicated,
      outOfOrder: result.outOfOrder,
      resyncs: result.resyncs,
      lateDeliveries: result.lateDeliveries,
    }));
  const flatness = input.streamsFlatness.ratio;
  return {
    moderate: input.moderate,
    saturation: {
      ccs: ccs.point,
      bareEmit: bareEmit.point,
      ccsUncoalesced: ccsUncoalesced.point,
    },
    ratio,
    uncoalescedRatio,
    overhead,
    overheadRounds: input.overheadRounds,
    overheadSaturation: {
      ccs: searched.ccs.point,
      ccsDeviceAcks: searched.ccsDeviceAcks.point,
      ccsTracing: searched.ccsTracing.point,
    },
    writeCeiling: input.writeCeiling,
    streamsFlatness: input.streamsFlatness,
    sqlWriterLatency,
    idleQueriesPerSec: input.idle.queriesPerSec,
    idle: input.idle,
    goals: {
      moderateP99WithinBarePlus10Ms: input.moderate.ccs.p99Ms <= input.moderate.bareEmit.p99Ms + 10,
      sqlWriterP99AtMost25Ms: sqlWriterLatency.p99Ms <= 25,
      saturationRatioAtLeast1: ratio >= 1,
      uncoalescedRatioAtLeast0_7: uncoalescedRatio >= 0.7,
      writeCeilingRatioAtLeast0_8: input.writeCeiling.ratio >= 0.8,
      streamsFlatnessWithin10Pct: flatness >= 0.9 && flatness <= 1.1,
      idleQueriesPerSecAtMost50: input.idle.queriesPerSec <= 50,
      noLossNoDuplicatesInOrder: input.phases.every(
        ({ result }) => !result.lost && !result.duplicated && !result.outOfOrder && !result.resyncs,
      ),
      deviceAcksOverheadWithin5Pct: overhead.deviceAcks.within5Pct,
      tracingOverheadWithin5Pct: overhead.tracing.within5Pct,
    },
    deliveryProblems,
    saturationSteps: {
      ccs: ccs.steps,
      bareEmit: bareEmit.steps,
      ccsUncoalesced: ccsUncoalesced.steps,
    },
    overheadSaturationSteps: {
      ccs: searched.ccs.steps,
      ccsDeviceAcks: searched.ccsDeviceAcks.steps,
      ccsTracing: searched.ccsTracing.steps,
    },
    setup: input.setup,
    startedAt: input.startedAt.toISOString(),
    runSeconds: Math.round(input.runSeconds),
  };
}
