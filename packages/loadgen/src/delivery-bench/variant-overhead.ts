import { Random } from '@ccs/fixtures';
import { LatencyHistogram } from '@ccs/test-clients';
import { repeatSpread, type RepeatSpread } from '../measure/repeat-spread.js';
import type { RepeatedSaturation } from '../measure/repeated-saturation.js';
import type { PhaseResult } from './load-phase-runner.js';

/** Overheads within this share (5 %) pass. */
export const OVERHEAD_BUDGET = 0.05;

/** Resamples of the rounds behind a {@link RatioInterval}. */
export const BOOTSTRAP_RESAMPLES = 1000;

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

/**
 * How far the rounds pin down the variant ÷ plain p99: a percentile bootstrap over rounds (each
 * resample draws as many rounds as were run, with replacement, for plain and for the variant,
 * and pools their histograms as {@link roundsPoint} does). A round is the unit because a stall
 * delays every delivery of its moment together: the deliveries of one round are not independent.
 */
export interface RatioInterval {
  /** The 5th and 95th percentiles of the resampled ratios: 90 % of them lie in between. */
  readonly low: number;
  readonly high: number;
  readonly resamples: number;
}

/**
 * Whether the rounds show the p99 within budget: `within` when 95 % of the resampled ratios are
 * ≤ 1.05, `over` when 95 % are above, `unresolved` when the interval holds 1.05 (the machine's
 * own jitter between rounds is wider than the budget: more rounds or a quieter machine decide).
 */
export type P99Verdict = 'within' | 'over' | 'unresolved';

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
  /** With how far the rounds pin its `p99Ratio` down. */
  readonly moderate: Overhead & { readonly p99Interval: RatioInterval };
  readonly saturation: Overhead;
  /** The moderate p99 against the budget, from `moderate.p99Interval`. */
  readonly p99Verdict: P99Verdict;
  /**
   * moderate: ratio ≥ 0.95 and p99Verdict `within`; saturation: ratio ≥ 0.95 (the p99 at
   * saturation is that of the best step, a queue whose length depends on the step's rate: shown,
   * not judged).
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
  const { p50Ms, p99Ms } = pooledLatency(rounds.map(decodedLatency)).percentiles();
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

const decodedLatency = (round: PhaseResult): LatencyHistogram =>
  LatencyHistogram.decode(round.latencyHistogram);

function pooledLatency(rounds: readonly LatencyHistogram[]): LatencyHistogram {
  const pooled = LatencyHistogram.empty();
  for (const round of rounds) pooled.add(round);
  return pooled;
}

/** A round's latency bins with the running count up to each: what resampling reads. */
interface RoundBins {
  readonly values: readonly number[];
  readonly cumulative: readonly number[];
}

function roundBins(round: PhaseResult): RoundBins {
  const values: number[] = [];
  const cumulative: number[] = [];
  let count = 0;
  for (const bin of decodedLatency(round).bins()) {
    values.push(bin.value);
    cumulative.push((count += bin.count));
  }
  return { values, cumulative };
}

/** How many latencies of `round` are at most `value`. */
function countUpTo(round: RoundBins, value: number): number {
  let low = 0;
  let high = round.values.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (round.values[middle]! <= value) low = middle + 1;
    else high = middle;
  }
  return low === 0 ? 0 : round.cumulative[low - 1]!;
}

/**
 * The p99 of `rounds` pooled, as {@link LatencyHistogram.percentiles} gives it (the highest value
 * of the bin holding the ⌊0.99 n + ½⌋-th latency), found by bisecting `values` (the bins of
 * every round, ascending) instead of adding histograms up.
 */
function pooledP99(rounds: readonly RoundBins[], values: readonly number[]): number {
  const total = rounds.reduce((sum, round) => sum + (round.cumulative.at(-1) ?? 0), 0);
  const rank = Math.max(1, Math.floor(0.99 * total + 0.5));
  let low = 0;
  let high = values.length - 1;
  while (low < high) {
    const middle = (low + high) >> 1;
    const reached = rounds.reduce((sum, round) => sum + countUpTo(round, values[middle]!), 0);
    if (reached >= rank) high = middle;
    else low = middle + 1;
  }
  // In ms rounded to 0.01, as the percentiles are.
  return Math.round((values[low] ?? 0) / 10) / 100;
}

/**
 * The {@link RatioInterval} of variant ÷ plain pooled p99 over the rounds. Seeded: the same
 * rounds give the same interval.
 */
export function p99RatioInterval(
  plain: readonly PhaseResult[],
  variant: readonly PhaseResult[],
  resamples = BOOTSTRAP_RESAMPLES,
): RatioInterval {
  const random = new Random(1);
  const resampledP99 = (rounds: readonly PhaseResult[]): (() => number) => {
    const bins = rounds.map(roundBins);
    const values = [...new Set(bins.flatMap((round) => round.values))].sort((a, b) => a - b);
    return () =>
      pooledP99(
        bins.map(() => random.pick(bins)),
        values,
      );
  };
  const plainP99 = resampledP99(plain);
  const variantP99 = resampledP99(variant);
  const ratios = Array.from({ length: resamples }, () => {
    const denominator = plainP99();
    return denominator > 0 ? variantP99() / denominator : 0;
  }).sort((a, b) => a - b);
  const at = (share: number): number =>
    Math.round(ratios[Math.min(resamples - 1, Math.floor(share * resamples))]! * 1000) / 1000;
  return { low: at(0.05), high: at(0.95), resamples };
}

/** Where `interval` puts the p99 against the budget. */
export function p99Verdict(interval: RatioInterval): P99Verdict {
  if (interval.high <= 1 + OVERHEAD_BUDGET) return 'within';
  if (interval.low > 1 + OVERHEAD_BUDGET) return 'over';
  return 'unresolved';
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
  const atModerate = {
    ...compareOverhead(roundsPoint(moderate.plain), roundsPoint(moderate.variant)),
    p99Interval: p99RatioInterval(moderate.plain, moderate.variant),
  };
  const atSaturation = compareOverhead(
    saturationPoint(saturation.plain),
    saturationPoint(saturation.variant),
  );
  const verdict = p99Verdict(atModerate.p99Interval);
  return {
    moderate: atModerate,
    saturation: atSaturation,
    p99Verdict: verdict,
    within5Pct:
      atModerate.ratio >= 1 - OVERHEAD_BUDGET &&
      verdict === 'within' &&
      atSaturation.ratio >= 1 - OVERHEAD_BUDGET,
  };
}
