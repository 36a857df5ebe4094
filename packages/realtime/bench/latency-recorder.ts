import {
  build,
  decodeFromCompressedBase64,
  encodeIntoCompressedBase64,
  type Histogram,
} from 'hdr-histogram-js';

/** Latency percentiles as the report shows them. */
export interface LatencySummary {
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

/** Up to 10 minutes, in µs: a delivery later than that is a bug, not a latency. */
const HIGHEST_MICROS = 600_000_000;

function emptyHistogram(): Histogram {
  return build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: HIGHEST_MICROS,
    numberOfSignificantValueDigits: 3,
    autoResize: true,
  });
}

/**
 * Send-to-receive latencies in an HDR histogram (µs, 3 significant digits). Client processes
 * each fill one per phase and ship it to the runner as compressed base64, which merges them.
 */
export class LatencyRecorder {
  private constructor(private readonly histogram: Histogram) {}

  static empty(): LatencyRecorder {
    return new LatencyRecorder(emptyHistogram());
  }

  /** Rebuilds a recorder shipped by {@link encode}. */
  static decode(encoded: string): LatencyRecorder {
    const recorder = LatencyRecorder.empty();
    recorder.histogram.add(decodeFromCompressedBase64(encoded));
    return recorder;
  }

  /** Records one delivery; a negative value (clock noise between processes) counts as 0. */
  record(latencyMicros: number): void {
    this.histogram.recordValue(Math.min(Math.max(0, Math.round(latencyMicros)), HIGHEST_MICROS));
  }

  add(other: LatencyRecorder): void {
    this.histogram.add(other.histogram);
  }

  get count(): number {
    return this.histogram.totalCount;
  }

  encode(): string {
    return encodeIntoCompressedBase64(this.histogram);
  }

  summary(): LatencySummary {
    const ms = (micros: number): number => Math.round(micros / 10) / 100;
    if (this.histogram.totalCount === 0) return { p50Ms: 0, p99Ms: 0, maxMs: 0 };
    return {
      p50Ms: ms(this.histogram.getValueAtPercentile(50)),
      p99Ms: ms(this.histogram.getValueAtPercentile(99)),
      maxMs: ms(this.histogram.maxValue),
    };
  }
}
