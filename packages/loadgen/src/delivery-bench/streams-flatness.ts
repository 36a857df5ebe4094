import type { LoadPhaseRunner, PhaseResult } from './load-phase-runner.js';

/** The streams the gateway tracks in the two measurements. */
const FEW_STREAMS = 100;
const MANY_STREAMS = 10_000;

/** What {@link measureStreamsFlatness} reports. */
export interface StreamsFlatness {
  /** Deliveries/s with 100 streams tracked by the gateway (mean of the runs before and after). */
  readonly at100: number;
  /** Deliveries/s with 10,000 streams tracked, the same load written. */
  readonly at10000: number;
  /** at10000 ÷ at100. */
  readonly ratio: number;
  readonly offeredWritesPerSec: number;
  readonly phases: {
    readonly at100Before: PhaseResult;
    readonly at10000: PhaseResult;
    readonly at100After: PhaseResult;
  };
}

/** Options of {@link measureStreamsFlatness}. */
export interface StreamsFlatnessOptions {
  readonly runner: LoadPhaseRunner;
  /** Makes the gateway track `total` streams in all (see `StartedBenchRig.holdStreams`). */
  readonly holdStreams: (total: number) => Promise<void>;
  /** At saturation but sustained, so that a relay slowed by what it tracks delivers less. */
  readonly writesPerSec: number;
  readonly durationMs: number;
  /** Called with each run, for progress output and the report's checks. */
  readonly onPhase: (label: string, result: PhaseResult) => void;
}

/**
 * Whether delivery stays flat in the number of streams the gateway tracks: the same CCS load,
 * written to the bench conversations only, with 100 streams tracked, then 10,000 (an extra
 * device subscribed to conversations nobody writes to), then 100 again, so drift over the three
 * runs does not pass for a difference. A relay whose work grows with what it tracks rather than
 * with what changed delivers less with 10,000.
 */
export async function measureStreamsFlatness(
  options: StreamsFlatnessOptions,
): Promise<StreamsFlatness> {
  const measure = async (streams: number): Promise<PhaseResult> => {
    await options.holdStreams(streams);
    const result = await options.runner.run('ccs', options.writesPerSec, options.durationMs);
    options.onPhase(`flatness at ${streams} streams`, result);
    return result;
  };
  const before = await measure(FEW_STREAMS);
  const many = await measure(MANY_STREAMS);
  const after = await measure(FEW_STREAMS);
  const few = Math.round((before.deliveriesPerSec + after.deliveriesPerSec) / 2);
  return {
    at100: few,
    at10000: many.deliveriesPerSec,
    ratio: few > 0 ? Math.round((many.deliveriesPerSec / few) * 1000) / 1000 : 0,
    offeredWritesPerSec: options.writesPerSec,
    phases: { at100Before: before, at10000: many, at100After: after },
  };
}

/** Streams the rig must seed to hold for {@link measureStreamsFlatness}, besides its own. */
export function streamsToHold(benchConversations: number): number {
  return MANY_STREAMS - benchConversations;
}
