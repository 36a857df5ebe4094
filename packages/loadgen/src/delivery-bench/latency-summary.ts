import type { LatencyHistogram } from '@ccs/test-clients';

/** Latency percentiles as the report shows them, in ms (0.01). All 0 when nothing was recorded. */
export interface LatencySummary {
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

/** The report's three percentiles of `histogram`. */
export function latencySummary(histogram: LatencyHistogram): LatencySummary {
  const { p50Ms, p99Ms, maxMs } = histogram.percentiles();
  return { p50Ms, p99Ms, maxMs };
}
