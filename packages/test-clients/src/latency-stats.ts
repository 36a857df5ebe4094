import { LatencyHistogram } from './latency-histogram.js';

/** Percentiles of commit-to-receive latency, in milliseconds. All 0 when `count` is 0. */
export interface LatencySummary {
  readonly count: number;
  readonly min: number;
  readonly mean: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
}

/**
 * Latencies in whole milliseconds, over a {@link LatencyHistogram} (3 significant digits: the
 * percentiles are exact below 1 s, within 1 ms up to 2 s, within 0.1 % above). A negative
 * sample, which only clock skew between machines can produce, counts as 0.
 *
 * @example
 * const stats = new LatencyStats();
 * for (const { latencyMs } of client.changes()) stats.record(latencyMs);
 * stats.summary().p99;
 */
export class LatencyStats {
  private readonly histogram = LatencyHistogram.empty();
  // The histogram knows bins, not the exact smallest value or sum.
  private minimum = Number.POSITIVE_INFINITY;
  private sum = 0;

  /** A summary of the given samples. */
  static summarize(samples: Iterable<number>): LatencySummary {
    const stats = new LatencyStats();
    for (const sample of samples) stats.record(sample);
    return stats.summary();
  }

  /** Adds one sample; `NaN` (a change without a parsable `committedAt`) is ignored. */
  record(latencyMs: number): void {
    if (Number.isNaN(latencyMs)) return;
    const value = Math.max(0, Math.round(latencyMs));
    this.histogram.record(value * 1000);
    this.minimum = Math.min(this.minimum, value);
    this.sum += value;
  }

  summary(): LatencySummary {
    const { count, p50Ms, p90Ms, p99Ms, maxMs } = this.histogram.percentiles();
    if (count === 0) return { count: 0, min: 0, mean: 0, p50: 0, p90: 0, p99: 0, max: 0 };
    return {
      count,
      min: this.minimum,
      mean: this.sum / count,
      p50: Math.round(p50Ms),
      p90: Math.round(p90Ms),
      p99: Math.round(p99Ms),
      max: Math.round(maxMs),
    };
  }
}
