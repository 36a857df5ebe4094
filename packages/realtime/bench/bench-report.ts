import type { PhaseResult } from './load-phase-runner.js';
import type { MachineInfo } from './machine-info.js';
import type { SaturationResult } from './saturation-search.js';

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
  readonly moderateWritesPerSec: number;
  readonly phaseSeconds: number;
  readonly stepSeconds: number;
  /** Relay options passed to the gateway; unset ones are the gateway's defaults. */
  readonly relay: { readonly pollIntervalMs?: number; readonly batchSize?: number };
  readonly probeRelay: boolean;
  /** The experiment SQL file run on the bench database, if any: such a run is not the baseline. */
  readonly setupSql: string | null;
  readonly machine: MachineInfo;
}

/** `bench-results/realtime.json`. */
export interface BenchReport {
  readonly moderate: ComparedLoad;
  readonly saturation: ComparedLoad;
  /** saturation.ccs.deliveriesPerSec / saturation.bareEmit.deliveriesPerSec */
  readonly ratio: number;
  readonly goals: {
    /** moderate.ccs.p99Ms ≤ moderate.bareEmit.p99Ms + 10 */
    readonly moderateP99WithinBarePlus10Ms: boolean;
    /** ratio ≥ 0.7 */
    readonly saturationRatioAtLeast0_7: boolean;
    /** lost and duplicated are 0 in every measured phase */
    readonly noLossNoDuplicates: boolean;
  };
  readonly saturationSteps: {
    readonly ccs: readonly PhaseResult[];
    readonly bareEmit: readonly PhaseResult[];
  };
  readonly setup: BenchSetup;
  readonly startedAt: string;
  readonly runSeconds: number;
}

export function buildBenchReport(input: {
  readonly moderate: ComparedLoad;
  readonly saturation: { readonly ccs: SaturationResult; readonly bareEmit: SaturationResult };
  readonly setup: BenchSetup;
  readonly startedAt: Date;
  readonly runSeconds: number;
}): BenchReport {
  const saturation = { ccs: input.saturation.ccs.best, bareEmit: input.saturation.bareEmit.best };
  const ratio =
    saturation.bareEmit.deliveriesPerSec > 0
      ? Math.round(
          (saturation.ccs.deliveriesPerSec / saturation.bareEmit.deliveriesPerSec) * 1000,
        ) / 1000
      : 0;
  const measured = [
    input.moderate.ccs,
    input.moderate.bareEmit,
    ...input.saturation.ccs.steps,
    ...input.saturation.bareEmit.steps,
  ];
  return {
    moderate: input.moderate,
    saturation,
    ratio,
    goals: {
      moderateP99WithinBarePlus10Ms: input.moderate.ccs.p99Ms <= input.moderate.bareEmit.p99Ms + 10,
      saturationRatioAtLeast0_7: ratio >= 0.7,
      noLossNoDuplicates: measured.every((phase) => phase.lost === 0 && phase.duplicated === 0),
    },
    saturationSteps: {
      ccs: input.saturation.ccs.steps,
      bareEmit: input.saturation.bareEmit.steps,
    },
    setup: input.setup,
    startedAt: input.startedAt.toISOString(),
    runSeconds: Math.round(input.runSeconds),
  };
}
