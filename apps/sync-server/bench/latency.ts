import { build, type Histogram } from 'hdr-histogram-js';

/** Percentiles of one latency distribution, in milliseconds. */
export interface LatencySummary {
  readonly count: number;
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  readonly maxMs: number | null;
}

/** Ten minutes in µs: anything later is a hang, not a latency. */
const HIGHEST_MICROS = 600_000_000;

/** Latencies in an HDR histogram (µs, 3 significant digits). */
export class Latencies {
  private readonly histogram: Histogram = build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: HIGHEST_MICROS,
    numberOfSignificantValueDigits: 3,
    autoResize: true,
  });

  /** Records one latency; negative values (clock rounding) count as 0. */
  recordMs(ms: number): void {
    const micros = Math.round(ms * 1000);
    this.histogram.recordValue(Math.min(Math.max(0, micros), HIGHEST_MICROS));
  }

  add(other: Latencies): void {
    this.histogram.add(other.histogram);
  }

  get count(): number {
    return this.histogram.totalCount;
  }

  summary(): LatencySummary {
    const count = this.histogram.totalCount;
    const at = (percentile: number): number | null =>
      count === 0 ? null : round(this.histogram.getValueAtPercentile(percentile) / 1000);
    return {
      count,
      p50Ms: at(50),
      p99Ms: at(99),
      maxMs: count === 0 ? null : round(this.histogram.maxValue / 1000),
    };
  }
}

/** Rounds to 3 decimals (µs precision on milliseconds). */
export function round(value: number, decimals = 3): number {
  const factor = 10 ** decimals;
  return Math.round(value * factor) / factor;
}
