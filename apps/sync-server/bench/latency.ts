import { LatencyHistogram } from '@ccs/test-clients';

/** Percentiles of one latency distribution, in milliseconds (0.01); null when nothing was recorded. */
export interface LatencySummary {
  readonly count: number;
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  readonly maxMs: number | null;
}

/** Latencies recorded in ms, in a {@link LatencyHistogram} (µs, 3 significant digits). */
export class Latencies {
  private readonly histogram = LatencyHistogram.empty();

  /** Records one latency; negative values (clock rounding) count as 0. */
  recordMs(ms: number): void {
    this.histogram.record(ms * 1000);
  }

  add(other: Latencies): void {
    this.histogram.add(other.histogram);
  }

  get count(): number {
    return this.histogram.count;
  }

  summary(): LatencySummary {
    const { count, p50Ms, p99Ms, maxMs } = this.histogram.percentiles();
    if (count === 0) return { count, p50Ms: null, p99Ms: null, maxMs: null };
    return { count, p50Ms, p99Ms, maxMs };
  }
}

/** Rounds to 3 decimals (µs precision on milliseconds). */
export function round(value: number, decimals = 3): number {
  const factor = 10 ** decimals;
  return Math.round(value * factor) / factor;
}
