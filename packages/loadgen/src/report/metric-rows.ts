/**
 * The comparison table of one scenario, as rows of formatted cells (one per target run), shared by
 * the console and HTML reports so both show the same metrics in the same order and format.
 */
import {
  formatBytes,
  formatCores,
  formatCount,
  formatDuration,
  formatMs,
  formatPercent,
  formatRate,
  MISSING,
} from './format.js';
import type { ScenarioResult, ServerUsage, TargetRun } from './load-report.js';

/** One cell: its text and, when it has one, the number it shows (for "best" and alarms). */
export interface MetricCell {
  readonly text: string;
  readonly value?: number;
}

/** One row of the comparison table. */
export interface MetricRow {
  /** The row's section, e.g. `Connections` or `send → receive`. */
  readonly group: string;
  readonly label: string;
  /** One cell per run, in the scenario's run order. */
  readonly cells: readonly MetricCell[];
  /** Which way is better, when one is (used to mark the best target). */
  readonly better?: 'lower' | 'higher';
  /** Any value above zero is a problem (lost deliveries, failed connects, …). */
  readonly alarmAbove0?: boolean;
}

interface MetricSpec {
  readonly group: string;
  readonly label: string;
  readonly value: (run: TargetRun) => number | undefined;
  readonly format: (value: number | undefined) => string;
  /** Overrides the cell text (the value still drives best/alarm). */
  readonly text?: (run: TargetRun) => string | undefined;
  readonly better?: 'lower' | 'higher';
  readonly alarmAbove0?: boolean;
}

const sum = (values: readonly number[]): number | undefined =>
  values.length === 0 ? undefined : values.reduce((total, value) => total + value, 0);
const max = (values: readonly number[]): number | undefined =>
  values.length === 0 ? undefined : Math.max(...values);
const mean = (values: readonly number[]): number | undefined =>
  values.length === 0 ? undefined : sum(values)! / values.length;
const servers = (run: TargetRun, pick: (server: ServerUsage) => number): number[] =>
  run.servers.map(pick).filter(Number.isFinite);

/** A latency distribution's percentile, only when it holds samples. */
function percentile(
  distribution: { readonly count: number } | undefined,
  value: number | undefined,
): number | undefined {
  return distribution && distribution.count > 0 ? value : undefined;
}

const BASE_METRICS: readonly MetricSpec[] = [
  {
    group: 'Run',
    label: 'duration',
    value: (run) => run.durationSec,
    format: formatDuration,
  },
  {
    group: 'Connections',
    label: 'attempted',
    value: (run) => run.connections.attempted,
    format: formatCount,
  },
  {
    group: 'Connections',
    label: 'succeeded',
    value: (run) => run.connections.succeeded,
    format: formatCount,
  },
  {
    group: 'Connections',
    label: 'failed',
    value: (run) => run.connections.failed,
    format: formatCount,
    alarmAbove0: true,
  },
  {
    group: 'Connections',
    label: 'connects/s',
    value: (run) => run.connections.perSec,
    format: formatRate,
    better: 'higher',
  },
  {
    group: 'Connections',
    label: 'connect p99',
    value: (run) => percentile(run.connections.connectTime, run.connections.connectTime.p99Ms),
    format: formatMs,
    better: 'lower',
  },
  {
    group: 'Subscribes',
    label: 'subscribes/s',
    value: (run) => run.subscribes?.perSec,
    format: formatRate,
    better: 'higher',
  },
  {
    group: 'Subscribes',
    label: 'subscribe p99',
    value: (run) => percentile(run.subscribes?.latency, run.subscribes?.latency.p99Ms),
    format: formatMs,
    better: 'lower',
  },
  {
    group: 'Subscribes',
    label: 'subscribes failed',
    value: (run) => run.subscribes?.failed,
    format: formatCount,
    alarmAbove0: true,
  },
  {
    group: 'Throughput',
    label: 'sends/s',
    value: (run) => run.sendsPerSec,
    format: formatRate,
    better: 'higher',
  },
  {
    group: 'Throughput',
    label: 'deliveries/s',
    value: (run) => run.deliveriesPerSec,
    format: formatRate,
    better: 'higher',
  },
  {
    group: 'send → ack',
    label: 'send→ack p50',
    value: (run) => percentile(run.sendToAck, run.sendToAck?.p50Ms),
    format: formatMs,
    better: 'lower',
  },
  {
    group: 'send → ack',
    label: 'send→ack p99',
    value: (run) => percentile(run.sendToAck, run.sendToAck?.p99Ms),
    format: formatMs,
    better: 'lower',
  },
  ...(
    [
      ['p50', 'p50Ms'],
      ['p90', 'p90Ms'],
      ['p99', 'p99Ms'],
      ['p99.9', 'p999Ms'],
      ['max', 'maxMs'],
    ] as const
  ).map(([name, key]): MetricSpec => ({
    group: 'send → receive',
    label: `send→receive ${name}`,
    value: (run) => percentile(run.sendToReceive, run.sendToReceive?.[key]),
    format: formatMs,
    better: 'lower',
  })),
  {
    group: 'send → receive',
    label: 'commit→receive p99',
    value: (run) => percentile(run.commitToReceive, run.commitToReceive?.p99Ms),
    format: formatMs,
    better: 'lower',
  },
  {
    group: 'Delivery',
    label: 'received / expected',
    value: (run) =>
      run.delivery.expected > 0 ? run.delivery.received / run.delivery.expected : undefined,
    format: formatPercent,
    text: (run) =>
      run.delivery.expected > 0 || run.delivery.received > 0
        ? `${formatCount(run.delivery.received)} / ${formatCount(run.delivery.expected)}`
        : undefined,
    better: 'higher',
  },
  {
    group: 'Delivery',
    label: 'lost',
    value: (run) => run.delivery.lost,
    format: formatCount,
    alarmAbove0: true,
  },
  {
    group: 'Delivery',
    label: 'duplicated',
    value: (run) => run.delivery.duplicated,
    format: formatCount,
    alarmAbove0: true,
  },
  {
    group: 'Delivery',
    label: 'out of order',
    value: (run) => run.delivery.outOfOrder,
    format: formatCount,
    alarmAbove0: true,
  },
];

const RESUME_METRICS: readonly MetricSpec[] = [
  {
    group: 'Resume',
    label: 'resumed / dropped',
    value: (run) =>
      run.resume && run.resume.dropped > 0 ? run.resume.resumed / run.resume.dropped : undefined,
    format: formatPercent,
    text: (run) =>
      run.resume
        ? `${formatCount(run.resume.resumed)} / ${formatCount(run.resume.dropped)}`
        : undefined,
    better: 'higher',
  },
  {
    group: 'Resume',
    label: 'reconnect p99',
    value: (run) => percentile(run.resume?.reconnect, run.resume?.reconnect.p99Ms),
    format: formatMs,
    better: 'lower',
  },
  {
    group: 'Resume',
    label: 'resume p99',
    value: (run) => percentile(run.resume?.time, run.resume?.time.p99Ms),
    format: formatMs,
    better: 'lower',
  },
];

const SERVER_METRICS: readonly MetricSpec[] = [
  {
    group: 'Server',
    label: 'server processes',
    value: (run) => run.servers.length,
    format: formatCount,
  },
  {
    group: 'Server',
    label: 'server peak RSS',
    value: (run) => sum(servers(run, (server) => server.peakRssBytes)),
    format: formatBytes,
    better: 'lower',
  },
  {
    group: 'Server',
    label: 'RSS per connection',
    value: (run) =>
      mean(
        servers(run, (server) => server.rssPerConnectionBytes ?? Number.NaN).filter(
          Number.isFinite,
        ),
      ),
    format: formatBytes,
    better: 'lower',
  },
  {
    group: 'Server',
    label: 'server CPU cores',
    value: (run) => sum(servers(run, (server) => server.cpuCores)),
    format: formatCores,
    better: 'lower',
  },
  {
    group: 'Server',
    label: 'event-loop lag p99',
    value: (run) => max(servers(run, (server) => server.eventLoopLagP99Ms)),
    format: formatMs,
    better: 'lower',
  },
  {
    group: 'Server',
    label: 'event-loop utilisation',
    value: (run) => max(servers(run, (server) => server.eventLoopUtilization)),
    format: formatPercent,
    better: 'lower',
  },
  {
    group: 'Server',
    label: 'client CPU cores',
    value: (run) => run.clientCpuCores,
    format: formatCores,
  },
];

/** What the server rows mean when a target ran more than one server process. */
export const SERVER_AGGREGATION_NOTE =
  'With several server processes: peak RSS and CPU are summed, RSS per connection is the mean, ' +
  'event-loop lag and utilisation are the worst process.';

function rowOf(spec: MetricSpec, runs: readonly TargetRun[]): MetricRow {
  const cells = runs.map((run): MetricCell => {
    const raw = spec.value(run);
    const value = raw !== undefined && Number.isFinite(raw) ? raw : undefined;
    const text = spec.text?.(run) ?? spec.format(value);
    return value === undefined ? { text } : { text, value };
  });
  return {
    group: spec.group,
    label: spec.label,
    cells,
    ...(spec.better && { better: spec.better }),
    ...(spec.alarmAbove0 && { alarmAbove0: true }),
  };
}

/** Disconnect reasons seen in any run of the scenario, most frequent first. */
function disconnectRows(runs: readonly TargetRun[]): MetricRow[] {
  const totals = new Map<string, number>();
  for (const run of runs) {
    for (const [reason, count] of Object.entries(run.disconnects)) {
      totals.set(reason, (totals.get(reason) ?? 0) + count);
    }
  }
  const reasons = [...totals.entries()]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([reason]) => reason);
  if (reasons.length === 0) {
    return [
      {
        group: 'Disconnects',
        label: 'disconnects',
        cells: runs.map(() => ({ text: formatCount(0), value: 0 })),
      },
    ];
  }
  return reasons.map((reason) => ({
    group: 'Disconnects',
    label: `disconnect: ${reason}`,
    cells: runs.map((run) => {
      const count = run.disconnects[reason] ?? 0;
      return { text: formatCount(count), value: count };
    }),
  }));
}

/**
 * The comparison rows of `scenario`: one cell per run. Rows that no run measured (every cell
 * {@link MISSING}) are left out, as is `server processes` when every target ran one.
 */
export function scenarioMetricRows(scenario: ScenarioResult): MetricRow[] {
  const { runs } = scenario;
  const rows = [
    ...BASE_METRICS.map((spec) => rowOf(spec, runs)),
    ...disconnectRows(runs),
    ...RESUME_METRICS.map((spec) => rowOf(spec, runs)),
    ...SERVER_METRICS.filter(
      (spec) => spec.label !== 'server processes' || runs.some((run) => run.servers.length > 1),
    ).map((spec) => rowOf(spec, runs)),
  ];
  return rows.filter((row) => row.cells.some((cell) => cell.text !== MISSING));
}

/** Indexes of the cells holding the best value of `row` (none when it has no direction or a tie of all). */
export function bestCells(row: MetricRow): Set<number> {
  const best = new Set<number>();
  if (!row.better) return best;
  const measured = row.cells
    .map((cell, index) => ({ value: cell.value, index }))
    .filter((entry): entry is { value: number; index: number } => entry.value !== undefined);
  if (measured.length < 2) return best;
  const values = measured.map((entry) => entry.value);
  const target = row.better === 'lower' ? Math.min(...values) : Math.max(...values);
  if (values.every((value) => value === target)) return best;
  for (const entry of measured) if (entry.value === target) best.add(entry.index);
  return best;
}

/** Whether `cell` of `row` shows a problem (e.g. lost deliveries). */
export function isAlarm(row: MetricRow, cell: MetricCell): boolean {
  return row.alarmAbove0 === true && cell.value !== undefined && cell.value > 0;
}
