import { LatencyHistogram } from '@ccs/test-clients';
import { repeatSpread, type RepeatSpread } from '../measure/repeat-spread.js';
import type { RepeatedSaturation } from '../measure/repeated-saturation.js';
import type { PhaseResult } from './load-phase-runner.js';

/** Overheads within this share (5 %) pass. */
export const OVERHEAD_BUDGET = 0.05;

/**
 * The moderate load run again in rounds for the overhead comparison: plain CCS, then each
 * variant, round after round (the same number of phases each, in the same order).
 */
export interface OverheadRounds {
  readonly ccs: readonly PhaseResult[];
  /** Every device reports `changes:received` as `@ccs/client` does (`--ack-interval-ms`). */
  readonly ccsDeviceAcks: readonly PhaseResult[];
  /** The gateway traces every change and exports the spans over OTLP/HTTP. */
  readonly ccsTracing: readonly PhaseResult[];
}

/** Plain CCS and each variant searched to saturation, taking turns (the same shape as the rounds). */
export interface OverheadSaturation<T> {
  readonly ccs: T;
  readonly ccsDeviceAcks: T;
  readonly ccsTracing: T;
}

/** The numbers an {@link Overhead} compares, for plain CCS or a variant. */
export interface OverheadPoint {
  /** Moderate: the median of the rounds; saturation: the median of the searches' bests. */
  readonly deliveriesPerSec: number;
  /**
   * Send → receive, ms. Moderate: of every delivery of the rounds together (their histograms
   * pooled: a stall in one round weighs as much as its deliveries, where the median of the
   * rounds' p99s jumps with whichever round had one); saturation: the median search's best step.
   */
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly offeredWritesPerSec: number;
  /** Cores of the gateway process while the load ran (same medians). */
  readonly gatewayCores: number;
  /** Cores of the client processes (the simulated devices, on the same machine). */
  readonly clientCores: number;
  /** Moderate: each round's p99, to tell an overhead from the noise of the machine. */
  readonly p99Rounds?: RepeatSpread;
  /** Saturation: each search's best deliveries/s. */
  readonly repeats?: RepeatSpread;
}

/** What one variant costs against plain CCS at one load. */
export interface Overhead {
  /** variant ÷ plain deliveries/s (rounded to 0.001) */
  readonly ratio: number;
  /** 1 − ratio: the share of deliveries/s the variant loses (negative: it delivered more) */
  readonly throughputOverhead: number;
  /** variant ÷ plain p99: above 1 is slower */
  readonly p99Ratio: number;
  readonly p50Ratio: number;
  /**
   * variant ÷ plain gateway cores per delivery: what the gateway itself pays, apart from the
   * devices' own work, which shares this machine's cores in the bench but not in production.
   */
  readonly gatewayCpuPerDeliveryRatio: number;
  readonly plain: OverheadPoint;
  readonly variant: OverheadPoint;
}

/** A variant's overhead at the moderate load and at saturation, and whether it is in budget. */
export interface VariantOverhead {
  readonly moderate: Overhead;
  readonly saturation: Overhead;
  /**
   * moderate: ratio ≥ 0.95 and p99Ratio ≤ 1.05; saturation: ratio ≥ 0.95 (the p99 at saturation
   * is that of the best step, a queue whose length depends on the step's rate: shown, not judged).
   */
  readonly within5Pct: boolean;
}

const ratioOf = (numerator: number, denominator: number): number =>
  denominator > 0 ? Math.round((numerator / denominator) * 1000) / 1000 : 0;

const medianOf = (values: readonly number[]): number => repeatSpread(values).median;

function cores(result: PhaseResult, group: string): number {
  return result.cpuCores[group] ?? 0;
}

/**
 * Plain CCS or a variant over the moderate rounds: the latencies of all their deliveries pooled,
 * every other number the median of the rounds.
 */
export function roundsPoint(rounds: readonly PhaseResult[]): OverheadPoint {
  const pooled = LatencyHistogram.empty();
  for (const round of rounds) pooled.add(LatencyHistogram.decode(round.latencyHistogram));
  const { p50Ms, p99Ms } = pooled.percentiles();
  const p99Rounds = repeatSpread(rounds.map((round) => round.p99Ms));
  return {
    deliveriesPerSec: medianOf(rounds.map((round) => round.deliveriesPerSec)),
    p50Ms,
    p99Ms,
    offeredWritesPerSec: rounds[0]!.offeredWritesPerSec,
    gatewayCores: medianOf(rounds.map((round) => cores(round, 'gateway'))),
    clientCores: medianOf(rounds.map((round) => cores(round, 'clients'))),
    p99Rounds,
  };
}

/** Plain CCS or a variant at saturation: the median search's best step. */
export function saturationPoint(saturation: RepeatedSaturation<PhaseResult>): OverheadPoint {
  const { point } = saturation;
  return {
    deliveriesPerSec: point.repeats.median,
    p50Ms: point.p50Ms,
    p99Ms: point.p99Ms,
    offeredWritesPerSec: point.offeredWritesPerSec,
    gatewayCores: cores(point, 'gateway'),
    clientCores: cores(point, 'clients'),
    repeats: point.repeats,
  };
}

/** `variant` against `plain`. */
export function compareOverhead(plain: OverheadPoint, variant: OverheadPoint): Overhead {
  const ratio = ratioOf(variant.deliveriesPerSec, plain.deliveriesPerSec);
  const perDelivery = (point: OverheadPoint): number =>
    point.deliveriesPerSec > 0 ? point.gatewayCores / point.deliveriesPerSec : 0;
  return {
    ratio,
    throughputOverhead: Math.round((1 - ratio) * 1000) / 1000,
    p99Ratio: ratioOf(variant.p99Ms, plain.p99Ms),
    p50Ratio: ratioOf(variant.p50Ms, plain.p50Ms),
    gatewayCpuPerDeliveryRatio: ratioOf(perDelivery(variant), perDelivery(plain)),
    plain,
    variant,
  };
}

/** A variant against plain CCS of the same run, over the moderate rounds and at saturation. */
export function variantOverhead(
  moderate: { readonly plain: readonly PhaseResult[]; readonly variant: readonly PhaseResult[] },
  saturation: {
    readonly plain: RepeatedSaturation<PhaseResult>;
    readonly variant: RepeatedSaturation<PhaseResult>;
  },
): VariantOverhead {
  const atModerate = compareOverhead(roundsPoint(moderate.plain), roundsPoint(moderate.variant));
  const atSaturation = compareOverhead(
    saturationPoint(saturation.plain),
    saturationPoint(saturation.variant),
  );
  return {
    moderate: atModerate,
    saturation: atSaturation,
    within5Pct:
      atModerate.ratio >= 1 - OVERHEAD_BUDGET &&
      atModerate.p99Ratio <= 1 + OVERHEAD_BUDGET &&
      atSaturation.ratio >= 1 - OVERHEAD_BUDGET,
  };
}
