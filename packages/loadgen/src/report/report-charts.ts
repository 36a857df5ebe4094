/**
 * The two charts of a scenario in the HTML report: send→receive latency over time (p99 and p50
 * per second, one colour per target) and the latency histogram (share of samples per bucket on a
 * log-scale latency axis).
 */
import { formatCount, formatMs, formatMsTick, formatNumber } from './format.js';
import type {
  HistogramBucket,
  LatencyDistribution,
  ScenarioResult,
  TargetRun,
} from './load-report.js';
import { renderLineChart, type DataPoint, type LegendItem, type LineSeries } from './svg-chart.js';

/** Colour-blind-safe (Okabe–Ito) colours, one per target, the same in every scenario. */
const TARGET_COLOURS: Readonly<Record<string, string>> = {
  ccs: '#0072b2',
  bare: '#e69f00',
  'postgres-adapter': '#009e73',
  'redis-streams': '#cc79a7',
};
const SPARE_COLOURS = ['#56b4e9', '#d55e00', '#000000', '#f0e442'] as const;

/** The colour of `target` (a fixed one per known target; unknown targets get a spare one). */
export function targetColour(target: string, index: number): string {
  return TARGET_COLOURS[target] ?? SPARE_COLOURS[index % SPARE_COLOURS.length]!;
}

/** The message of a chart that has nothing to show. */
export const NO_DELIVERIES = 'no deliveries measured';

/** Above this max ÷ min ratio, a latency axis is logarithmic (else the fast lines sit on 0). */
const LOG_AXIS_RATIO = 50;

/** The latency-over-time chart of `scenario`: p99 (solid, dotted points) and p50 (dashed). */
export function renderTimelineChart(scenario: ScenarioResult): string {
  const series: LineSeries[] = [];
  const legend: LegendItem[] = [];
  scenario.runs.forEach((run, index) => {
    const colour = targetColour(run.target, index);
    const points = [...run.timeline]
      .filter(
        (point) => point.count > 0 && Number.isFinite(point.atSec) && Number.isFinite(point.p99Ms),
      )
      .sort((a, b) => a.atSec - b.atSec);
    legend.push({
      label: points.length > 0 ? run.target : `${run.target} (${NO_DELIVERIES})`,
      colour,
    });
    if (points.length === 0) return;
    series.push({
      key: run.target,
      colour,
      width: 2,
      segments: [points.map((point): DataPoint => [point.atSec, point.p99Ms])],
      markers: points.map((point) => ({
        at: [point.atSec, point.p99Ms] as const,
        title:
          `${run.target} at ${formatNumber(point.atSec)} s: p99 ${formatMs(point.p99Ms)}, ` +
          `p50 ${formatMs(point.p50Ms)}, ${formatCount(point.count)} samples`,
      })),
    });
    const p50 = points
      .filter((point) => Number.isFinite(point.p50Ms))
      .map((point): DataPoint => [point.atSec, point.p50Ms]);
    series.push({
      key: run.target,
      colour,
      width: 1.5,
      dash: '5 4',
      segments: [p50],
      // A lone p50 has no line to draw: a dot instead.
      ...(p50.length === 1 && {
        markers: [{ at: p50[0]!, title: `${run.target}: p50 ${formatMs(p50[0]![1])}` }],
      }),
    });
  });
  // With nothing drawn, the chart's message says it all: no legend.
  if (series.length === 0) legend.length = 0;
  else
    legend.push(
      { label: 'p99', colour: '#5b6472' },
      { label: 'p50', colour: '#5b6472', dash: '5 4' },
    );
  const seconds = new Set(series.flatMap((line) => line.segments.flat().map(([x]) => x)));
  const singleSecond = seconds.size === 1 ? [...seconds][0] : undefined;
  const latencies = series.flatMap((line) => line.segments.flat().map(([, y]) => y));
  const logAxis = useLogAxis(latencies);
  return renderLineChart({
    kind: 'timeline',
    title: `${scenario.scenario}: send→receive latency over time`,
    x: {
      kind: 'linear',
      label: 'seconds since the load started',
      formatTick: (value) => `${formatNumber(value)} s`,
      // From the start of the load; one second past a lone point, so it is not on the edge.
      include: [0, ...(singleSecond === undefined ? [] : [singleSecond + 1])],
    },
    y: {
      kind: logAxis ? 'log' : 'linear',
      label: logAxis ? 'send→receive latency (log scale)' : 'send→receive latency',
      formatTick: formatMsTick,
      include: [0],
    },
    series,
    legend,
    emptyMessage: NO_DELIVERIES,
  });
}

function useLogAxis(latencies: readonly number[]): boolean {
  const positive = latencies.filter((value) => value > 0);
  if (positive.length === 0) return false;
  return Math.max(...positive) / Math.min(...positive) > LOG_AXIS_RATIO;
}

/** Which distribution a run's histogram shows. */
interface HistogramSource {
  readonly run: TargetRun;
  readonly distribution: LatencyDistribution;
  readonly what: 'delivery' | 'connect';
}

function hasSamples(distribution: LatencyDistribution | undefined): boolean {
  return (
    distribution !== undefined &&
    distribution.count > 0 &&
    distribution.buckets.some((bucket) => bucket.count > 0)
  );
}

/** send→receive, or the connect time when the run has no deliveries. */
function histogramSource(run: TargetRun): HistogramSource | undefined {
  if (hasSamples(run.sendToReceive)) {
    return { run, distribution: run.sendToReceive!, what: 'delivery' };
  }
  if (hasSamples(run.connections.connectTime)) {
    return { run, distribution: run.connections.connectTime, what: 'connect' };
  }
  return undefined;
}

/** Usable buckets, sorted, without the empty ones before the first and after the last sample. */
function usableBuckets(buckets: readonly HistogramBucket[]): HistogramBucket[] {
  const sorted = buckets
    .filter(
      (bucket) =>
        Number.isFinite(bucket.upToMs) &&
        bucket.upToMs > 0 &&
        Number.isFinite(bucket.count) &&
        bucket.count >= 0,
    )
    .sort((a, b) => a.upToMs - b.upToMs);
  const first = sorted.findIndex((bucket) => bucket.count > 0);
  if (first < 0) return [];
  let last = sorted.length - 1;
  while (sorted[last]!.count === 0) last -= 1;
  return sorted.slice(first, last + 1);
}

/** The step line of `buckets` as (latency, % of samples) points, from and back to 0 %. */
function stepPoints(buckets: readonly HistogramBucket[]): DataPoint[] {
  const total = buckets.reduce((sum, bucket) => sum + bucket.count, 0);
  if (total === 0 || buckets.length === 0) return [];
  const first = buckets[0]!;
  const second = buckets[1];
  const ratio = second ? second.upToMs / first.upToMs : 2;
  let lower = first.upToMs / (ratio > 1 ? ratio : 2);
  const points: DataPoint[] = [[lower, 0]];
  for (const bucket of buckets) {
    const share = (bucket.count / total) * 100;
    points.push([lower, share], [bucket.upToMs, share]);
    lower = bucket.upToMs;
  }
  points.push([lower, 0]);
  return points;
}

/**
 * The latency histogram of `scenario`: send→receive per target, or the connect time for a run
 * without deliveries (drawn dashed and named so in the legend when other runs show deliveries).
 */
export function renderHistogramChart(scenario: ScenarioResult): string {
  const sources = scenario.runs.map(histogramSource);
  const anyDelivery = sources.some((source) => source?.what === 'delivery');
  const series: LineSeries[] = [];
  const legend: LegendItem[] = [];
  scenario.runs.forEach((run, index) => {
    const colour = targetColour(run.target, index);
    const source = sources[index];
    const points = source ? stepPoints(usableBuckets(source.distribution.buckets)) : [];
    if (!source || points.length === 0) {
      legend.push({ label: `${run.target} (${NO_DELIVERIES})`, colour });
      return;
    }
    const connectAmongDeliveries = source.what === 'connect' && anyDelivery;
    const dash = connectAmongDeliveries ? '5 4' : undefined;
    legend.push({
      label: connectAmongDeliveries ? `${run.target} (connect time: no deliveries)` : run.target,
      colour,
      ...(dash && { dash }),
    });
    series.push({
      key: run.target,
      colour,
      width: 2,
      fillOpacity: 0.07,
      segments: [points],
      ...(dash && { dash }),
    });
  });
  if (series.length === 0) legend.length = 0;
  const what = anyDelivery ? 'send→receive latency' : 'connect time';
  return renderLineChart({
    kind: 'histogram',
    title: `${scenario.scenario}: ${what} histogram`,
    x: {
      kind: 'log',
      label: `${what} (log scale)`,
      formatTick: formatMsTick,
    },
    y: {
      kind: 'linear',
      label: 'share of samples',
      formatTick: (value) => `${formatNumber(value)}%`,
      include: [0],
    },
    series,
    legend,
    emptyMessage: NO_DELIVERIES,
  });
}

/** What the histogram of `scenario` shows, for its caption. */
export function histogramSubject(scenario: ScenarioResult): 'send→receive' | 'connect time' {
  return scenario.runs.some((run) => histogramSource(run)?.what === 'delivery')
    ? 'send→receive'
    : 'connect time';
}
