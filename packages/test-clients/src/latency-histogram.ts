import {
  decodeFromCompressedBase64,
  encodeIntoCompressedBase64,
  Int32Histogram,
  JsHistogram,
} from 'hdr-histogram-js';

/** Percentiles of a {@link LatencyHistogram}, in milliseconds rounded to 0.01. All 0 when empty. */
export interface LatencyPercentiles {
  readonly count: number;
  readonly meanMs: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly maxMs: number;
}

/** One bin of a {@link LatencyHistogram}: `count` latencies, the highest of them `value` µs. */
export interface LatencyBin {
  readonly value: number;
  readonly count: number;
}

/** One bar of a latency histogram: the samples above the previous bar's bound, up to `upToMs`. */
export interface LatencyBucket {
  readonly upToMs: number;
  readonly count: number;
}

/** Ten minutes in µs: a latency above it is a hang, not a latency; it is recorded as ten minutes. */
const HIGHEST_MICROS = 600_000_000;

/** Three significant digits: a percentile is within 0.1 % of the recorded value. */
const SIGNIFICANT_DIGITS = 3;

/** Milliseconds rounded to 0.01, from µs. */
const toMs = (micros: number): number => Math.round(micros / 10) / 100;

/**
 * Latencies in an HDR histogram, in microseconds (3 significant digits, pure JS: WebAssembly
 * needs an async init and memory freed by hand). Processes each fill their own and ship them as
 * compressed base64 ({@link encode}); the receiver merges them ({@link decode}, {@link add}).
 *
 * @example
 * const latency = LatencyHistogram.empty();
 * latency.record(receivedAtMicros - sentAtMicros);
 * const shipped = latency.encode();
 * const merged = LatencyHistogram.empty();
 * merged.add(LatencyHistogram.decode(shipped));
 * merged.percentiles().p99Ms;
 */
export class LatencyHistogram {
  private constructor(private readonly histogram: Int32Histogram) {}

  static empty(): LatencyHistogram {
    const histogram = new Int32Histogram(1, HIGHEST_MICROS, SIGNIFICANT_DIGITS);
    histogram.autoResize = true;
    return new LatencyHistogram(histogram);
  }

  /** Rebuilds a histogram shipped by {@link encode}. */
  static decode(encoded: string): LatencyHistogram {
    const histogram = decodeFromCompressedBase64(encoded, 32, false);
    // Without WebAssembly the decoder builds a JS histogram; the check only narrows the type.
    if (!(histogram instanceof JsHistogram)) throw new TypeError('decode: not a JS histogram');
    const decoded = LatencyHistogram.empty();
    decoded.histogram.add(histogram);
    return decoded;
  }

  /**
   * Records one latency in µs. A negative one (clock noise between processes) counts as 0, one
   * above ten minutes as ten minutes.
   */
  record(micros: number): void {
    this.histogram.recordValue(Math.min(Math.max(0, Math.round(micros)), HIGHEST_MICROS));
  }

  /** Adds every latency `other` recorded. */
  add(other: LatencyHistogram): void {
    this.histogram.add(other.histogram);
  }

  get count(): number {
    return this.histogram.totalCount;
  }

  /** The histogram as compressed base64, for {@link decode}. */
  encode(): string {
    return encodeIntoCompressedBase64(this.histogram);
  }

  percentiles(): LatencyPercentiles {
    const h = this.histogram;
    if (h.totalCount === 0) {
      return { count: 0, meanMs: 0, p50Ms: 0, p90Ms: 0, p99Ms: 0, p999Ms: 0, maxMs: 0 };
    }
    return {
      count: h.totalCount,
      meanMs: toMs(h.mean),
      p50Ms: toMs(h.getValueAtPercentile(50)),
      p90Ms: toMs(h.getValueAtPercentile(90)),
      p99Ms: toMs(h.getValueAtPercentile(99)),
      p999Ms: toMs(h.getValueAtPercentile(99.9)),
      maxMs: toMs(this.highest()),
    };
  }

  /**
   * At most `maxBuckets` bars, log-spaced from the smallest non-zero latency recorded to the
   * largest, for a histogram plot: each bar counts the latencies above the previous bar's bound
   * (zeros in the first bar), so the counts sum to {@link count}. Bounds are whole µs (bars
   * narrower than 1 µs merge); empty bars in between are kept. No bar when nothing was recorded.
   */
  buckets(maxBuckets = 40): LatencyBucket[] {
    if (!Number.isInteger(maxBuckets) || maxBuckets < 1) {
      throw new RangeError(`buckets: maxBuckets must be a positive integer, got ${maxBuckets}`);
    }
    const recorded = this.bins();
    if (recorded.length === 0) return [];
    const highest = this.highest();
    const lowest = Math.min(recorded.find(({ value }) => value > 0)?.value ?? highest, highest);
    const bounds: number[] = [];
    if (lowest > 0 && highest > lowest) {
      const ratio = (highest / lowest) ** (1 / maxBuckets);
      for (let i = 1; i < maxBuckets; i++) {
        const bound = Math.ceil(lowest * ratio ** i);
        if (bound > (bounds.at(-1) ?? 0) && bound < highest) bounds.push(bound);
      }
    }
    bounds.push(highest);
    const counts = bounds.map(() => 0);
    let bar = 0;
    for (const { value, count } of recorded) {
      // A bin's value is the highest its bin holds; the largest latency caps it.
      const latency = Math.min(value, highest);
      while (latency > bounds[bar]!) bar++;
      counts[bar]! += count;
    }
    return bounds.map((bound, index) => ({ upToMs: bound / 1000, count: counts[index]! }));
  }

  /**
   * The largest latency as HDR reports it: the highest value of its bin, the same whether it was
   * recorded here or merged from another histogram (a merge only knows bins).
   */
  private highest(): number {
    return this.histogram.highestEquivalentValue(this.histogram.maxValue);
  }

  /**
   * Every non-empty bin, ascending: the highest value it holds (µs) and its count. Histograms
   * share their bins, so the bins of several can be merged by value.
   */
  bins(): LatencyBin[] {
    const iterator = this.histogram.recordedValuesIterator;
    iterator.reset();
    const values: LatencyBin[] = [];
    while (iterator.hasNext()) {
      const bin = iterator.next();
      values.push({ value: bin.valueIteratedTo, count: bin.countAtValueIteratedTo });
    }
    return values;
  }
}
