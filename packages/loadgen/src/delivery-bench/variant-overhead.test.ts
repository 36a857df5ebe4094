import { LatencyHistogram } from '@ccs/test-clients';
import { describe, expect, it } from 'vitest';
import { repeatSpread } from '../measure/repeat-spread.js';
import type { RepeatedSaturation } from '../measure/repeated-saturation.js';
import type { PhaseResult } from './load-phase-runner.js';
import { phase as cleanPhase, latencyOf } from './phase-result.test-helper.js';
import {
  compareOverhead,
  p99RatioInterval,
  p99Verdict,
  roundsPoint,
  saturationPoint,
  variantOverhead,
  type OverheadPoint,
} from './variant-overhead.js';

/** A clean moderate phase with the numbers an overhead reads. */
function phase(
  deliveriesPerSec: number,
  p50Ms: number,
  p99Ms: number,
  gateway = 0.3,
  clients = 0.2,
): PhaseResult {
  return cleanPhase({
    p50Ms,
    p99Ms,
    maxMs: p99Ms * 2,
    latencyHistogram: latencyOf(p50Ms, p99Ms),
    deliveriesPerSec,
    commitToReceive: { p50Ms, p99Ms, maxMs: p99Ms * 2 },
    expectedDeliveries: deliveriesPerSec * 10,
    receivedDeliveries: deliveriesPerSec * 10,
    cpuCores: { gateway, clients, other: 0 },
  });
}

/** A saturation whose searches found `bests` deliveries/s (the median one at `p99Ms`). */
function saturation(bests: readonly number[], p99Ms = 60): RepeatedSaturation<PhaseResult> {
  const repeats = repeatSpread(bests);
  return {
    point: { ...phase(repeats.median, 20, p99Ms, 0.5, 0.7), repeats },
    steps: [],
  };
}

const point = (deliveriesPerSec: number, p99Ms: number, gatewayCores: number): OverheadPoint => ({
  deliveriesPerSec,
  p50Ms: p99Ms / 4,
  p99Ms,
  offeredWritesPerSec: 500,
  gatewayCores,
  clientCores: 0.2,
});

describe('roundsPoint', () => {
  it("pools the rounds' latencies, takes the median of every other number, and keeps each round's p99", () => {
    const measured = roundsPoint([
      phase(9990, 2.5, 9, 0.3, 0.2),
      phase(9970, 2.1, 14, 0.35, 0.25),
      phase(9980, 2.3, 8, 0.25, 0.3),
    ]);
    expect(measured).toMatchObject({
      deliveriesPerSec: 9980,
      offeredWritesPerSec: 500,
      gatewayCores: 0.3,
      clientCores: 0.25,
    });
    // 300 deliveries: 98 each at 2.1, 2.3 and 2.5 ms, then 2 each at 8, 9 and 14 ms; the pooled
    // p99 is the 297th.
    expect(measured.p50Ms).toBe(2.3);
    expect(measured.p99Ms).toBeCloseTo(9, 1);
    expect(measured.p99Rounds).toMatchObject({ values: [9, 14, 8], median: 9, spreadPct: 66.7 });
  });
});

describe('saturationPoint', () => {
  it("compares the searches' median best, at the median search's best step", () => {
    expect(saturationPoint(saturation([70_000, 76_000, 74_000], 650))).toMatchObject({
      deliveriesPerSec: 74_000,
      p99Ms: 650,
      gatewayCores: 0.5,
      clientCores: 0.7,
      repeats: { median: 74_000, min: 70_000, max: 76_000 },
    });
  });
});

describe('compareOverhead', () => {
  it('gives the throughput, latency and gateway-cpu ratios, rounded to 0.001', () => {
    const compared = compareOverhead(point(80_000, 400, 0.5), point(74_000, 500, 0.55));
    expect(compared).toMatchObject({
      ratio: 0.925,
      throughputOverhead: 0.075,
      p99Ratio: 1.25,
      p50Ratio: 1.25,
      // (0.55 ÷ 74,000) ÷ (0.5 ÷ 80,000)
      gatewayCpuPerDeliveryRatio: 1.189,
    });
  });

  it('reports a negative overhead when the variant delivered more, and 0 ratios for nothing', () => {
    expect(compareOverhead(point(50_000, 10, 0.5), point(51_000, 10, 0.5)).throughputOverhead).toBe(
      -0.02,
    );
    expect(compareOverhead(point(0, 0, 0), point(10, 10, 0.1))).toMatchObject({
      ratio: 0,
      p99Ratio: 0,
      gatewayCpuPerDeliveryRatio: 0,
    });
  });
});

describe('variantOverhead', () => {
  // Below 2.048 ms the pooled histogram holds every µs exactly.
  const plainRounds = [phase(10_000, 1, 2), phase(10_000, 1, 2)];

  it('passes at exactly 5 %: p99 × 1.05 at the moderate load, 0.95 of the deliveries at saturation', () => {
    const within = variantOverhead(
      { plain: plainRounds, variant: [phase(10_000, 1, 2.1), phase(9990, 1, 2.1)] },
      { plain: saturation([80_000]), variant: saturation([76_000]) },
    );
    expect(within.moderate.p99Ratio).toBe(1.05);
    expect(within.moderate.p99Interval).toMatchObject({ low: 1.05, high: 1.05 });
    expect(within.p99Verdict).toBe('within');
    expect(within.saturation.ratio).toBe(0.95);
    expect(within.within5Pct).toBe(true);
  });

  it('fails past 5 % on either load; the p99 at saturation is shown but not judged', () => {
    const slowerAtModerate = variantOverhead(
      { plain: plainRounds, variant: [phase(10_000, 1, 2.11), phase(10_000, 1, 2.11)] },
      { plain: saturation([80_000]), variant: saturation([80_000]) },
    );
    expect(slowerAtModerate.p99Verdict).toBe('over');
    expect(slowerAtModerate.within5Pct).toBe(false);
    const fewerAtSaturation = variantOverhead(
      { plain: plainRounds, variant: plainRounds },
      { plain: saturation([80_000]), variant: saturation([75_900]) },
    );
    expect(fewerAtSaturation.within5Pct).toBe(false);
    const slowerAtSaturation = variantOverhead(
      { plain: plainRounds, variant: plainRounds },
      { plain: saturation([80_000], 400), variant: saturation([80_000], 900) },
    );
    expect(slowerAtSaturation.saturation.p99Ratio).toBe(2.25);
    expect(slowerAtSaturation.within5Pct).toBe(true);
  });
});

describe('p99RatioInterval', () => {
  it('is one point when every round of each side has the same latencies', () => {
    const interval = p99RatioInterval(
      [phase(10_000, 1, 2), phase(10_000, 1, 2)],
      [phase(10_000, 1, 2.1), phase(10_000, 1, 2.1), phase(10_000, 1, 2.1)],
      200,
    );
    expect(interval).toEqual({ low: 1.05, high: 1.05, resamples: 200 });
  });

  it('spans the ratios that resampling a stalled round can give, the same for the same rounds', () => {
    // One round in four had a stall that delayed a tenth of its deliveries to 40 ms: a resample
    // that draws it has a pooled p99 of 40 ms, one that does not (a third of them) 2 ms.
    const stalled = LatencyHistogram.empty();
    for (let i = 0; i < 100; i++) stalled.record(i < 90 ? 1000 : 40_000);
    const rounds = [
      phase(10_000, 1, 2),
      phase(10_000, 1, 2),
      phase(10_000, 1, 2),
      { ...phase(10_000, 1, 40), latencyHistogram: stalled.encode() },
    ];
    const interval = p99RatioInterval(rounds, rounds);
    // 2 ÷ 40.03 and 40.03 ÷ 2 (three significant digits: 40 ms shares a bin up to 40.03 ms)
    expect(interval).toMatchObject({ low: 0.05, high: 20.015 });
    expect(p99Verdict(interval)).toBe('unresolved');
    expect(p99RatioInterval(rounds, rounds)).toEqual(interval);
  });
});

describe('p99Verdict', () => {
  it('is within when 95 % of the ratios are ≤ 1.05, over when 95 % are above, else unresolved', () => {
    expect(p99Verdict({ low: 0.7, high: 1.05, resamples: 1000 })).toBe('within');
    expect(p99Verdict({ low: 1.051, high: 1.9, resamples: 1000 })).toBe('over');
    expect(p99Verdict({ low: 0.9, high: 1.06, resamples: 1000 })).toBe('unresolved');
    expect(p99Verdict({ low: 1.05, high: 1.2, resamples: 1000 })).toBe('unresolved');
  });
});
