import { describe, expect, it } from 'vitest';
import { LatencyHistogram } from './latency-histogram.js';

/** 1 ms, 2 ms, …, `n` ms, in µs. */
const millisUpTo = (n: number): number[] => Array.from({ length: n }, (_, i) => (i + 1) * 1000);

function histogramOf(micros: readonly number[]): LatencyHistogram {
  const histogram = LatencyHistogram.empty();
  for (const value of micros) histogram.record(value);
  return histogram;
}

describe('LatencyHistogram', () => {
  it('reports percentiles in ms, rounded to 0.01', () => {
    const percentiles = histogramOf(millisUpTo(1000)).percentiles();
    expect(percentiles.count).toBe(1000);
    expect(percentiles.p50Ms).toBeCloseTo(500, 0);
    expect(percentiles.p90Ms).toBeCloseTo(900, 0);
    expect(percentiles.p99Ms).toBeCloseTo(990, 0);
    expect(percentiles.p999Ms).toBeCloseTo(999, 0);
    expect(percentiles.maxMs).toBeCloseTo(1000, 0);
    expect(percentiles.meanMs).toBeCloseTo(500.5, 0);
    for (const value of Object.values(percentiles)) {
      expect(Math.round(value * 100) / 100).toBe(value);
    }
  });

  it('reports zeros when empty', () => {
    expect(LatencyHistogram.empty().percentiles()).toEqual({
      count: 0,
      meanMs: 0,
      p50Ms: 0,
      p90Ms: 0,
      p99Ms: 0,
      p999Ms: 0,
      maxMs: 0,
    });
    expect(LatencyHistogram.empty().buckets()).toEqual([]);
  });

  it('records a negative latency as 0 and caps one above ten minutes', () => {
    const histogram = histogramOf([-250, -1, 3_600_000_000]);
    expect(histogram.count).toBe(3);
    const percentiles = histogram.percentiles();
    expect(percentiles.p50Ms).toBe(0);
    expect(percentiles.maxMs).toBeCloseTo(600_000, -3);
    const [only, ...none] = histogram.buckets();
    expect(none).toEqual([]);
    expect(only!.count).toBe(3);
    expect(only!.upToMs).toBeCloseTo(percentiles.maxMs, 1);
  });

  it('survives an encode/decode round trip', () => {
    const original = histogramOf([...millisUpTo(200), 0, 15, 73_000_000]);
    const encoded = original.encode();
    expect(encoded).toMatch(/^[A-Za-z0-9+/]+=*$/);
    const decoded = LatencyHistogram.decode(encoded);
    expect(decoded.count).toBe(original.count);
    expect(decoded.percentiles()).toEqual(original.percentiles());
    expect(decoded.buckets()).toEqual(original.buckets());
  });

  it('adds what another histogram recorded', () => {
    const low = histogramOf(millisUpTo(100));
    const high = histogramOf(millisUpTo(100).map((micros) => micros + 100_000));
    const merged = LatencyHistogram.empty();
    merged.add(low);
    merged.add(LatencyHistogram.decode(high.encode()));
    expect(merged.count).toBe(200);
    expect(merged.percentiles().p50Ms).toBeCloseTo(100, 0);
    expect(merged.percentiles().maxMs).toBeCloseTo(200, 0);
    expect(low.count).toBe(100);
  });

  it('spreads the recorded range over log-spaced buckets whose counts sum to count', () => {
    const samples = [0, 0, ...millisUpTo(1000), 5, 60, 450, 2_500_000];
    const histogram = histogramOf(samples);
    const buckets = histogram.buckets(40);
    expect(buckets.length).toBeGreaterThan(20);
    expect(buckets.length).toBeLessThanOrEqual(40);
    expect(buckets.reduce((sum, bucket) => sum + bucket.count, 0)).toBe(samples.length);
    expect(buckets.at(-1)!.upToMs).toBeCloseTo(2500, -1);
    expect(buckets[0]!.upToMs).toBeLessThan(0.01);
    // The zeros and the 5 µs sample are in the first bar; each bound above the one before.
    expect(buckets[0]!.count).toBe(3);
    buckets.slice(1).forEach((bucket, index) => {
      expect(bucket.upToMs).toBeGreaterThan(buckets[index]!.upToMs);
    });
    // Log-spaced: the bounds grow by a roughly constant ratio.
    const ratios = buckets.slice(10, 30).map((bucket, index) => {
      return bucket.upToMs / buckets[index + 9]!.upToMs;
    });
    expect(Math.max(...ratios) / Math.min(...ratios)).toBeLessThan(1.05);
  });

  it('puts a single value, or a few buckets asked for, in as many bars', () => {
    expect(histogramOf([1500, 1500]).buckets()).toEqual([{ upToMs: 1.5, count: 2 }]);
    expect(histogramOf([0]).buckets()).toEqual([{ upToMs: 0, count: 1 }]);
    const three = histogramOf(millisUpTo(1000)).buckets(3);
    expect(three).toHaveLength(3);
    expect(three.map((bucket) => bucket.count).reduce((a, b) => a + b)).toBe(1000);
    expect(() => histogramOf([1]).buckets(0)).toThrow(RangeError);
  });

  it('lists its non-empty bins ascending, each with its highest value, the same after a merge', () => {
    const histogram = histogramOf([5, 5, 1500, 250_000]);
    expect(histogram.bins()).toEqual([
      { value: 5, count: 2 },
      { value: 1500, count: 1 },
      // Three significant digits: 250 ms shares a bin up to 250.111 ms.
      { value: 250_111, count: 1 },
    ]);
    const merged = LatencyHistogram.empty();
    merged.add(LatencyHistogram.decode(histogram.encode()));
    expect(merged.bins()).toEqual(histogram.bins());
  });
});
