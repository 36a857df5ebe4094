import { build, type Histogram } from 'hdr-histogram-js';

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
 * An HDR histogram of latencies in whole milliseconds (3 significant digits: exact below 2 s).
 * A negative sample, which only clock skew between machines can produce, counts as 0.
 *
 * @example
 * const stats = new LatencyStats();
 * for (const { latencyMs } of client.changes()) stats.record(latencyMs);
 * stats.summary().p99;
 */
export class LatencyStats {
  // Pure JS: WebAssembly needs an async init and memory that must be freed by hand.
  private readonly histogram: Histogram = build({
    useWebAssembly: false,
    numberOfSignificantValueDigits: 3,
  });
  // The histogram only knows the smallest non-zero value.
  private minimum = Number.POSITIVE_INFINITY;

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
    this.histogram.recordValue(value);
    this.minimum = Math.min(this.minimum, value);
  }

  summary(): LatencySummary {
    const h = this.histogram;
    if (h.totalCount === 0) return { count: 0, min: 0, mean: 0, p50: 0, p90: 0, p99: 0, max: 0 };
    return {
      count: h.totalCount,
      min: this.minimum,
      mean: h.mean,
      p50: h.getValueAtPercentile(50),
      p90: h.getValueAtPercentile(90),
      p99: h.getValueAtPercentile(99),
      max: h.maxValue,
    };
  }
}
