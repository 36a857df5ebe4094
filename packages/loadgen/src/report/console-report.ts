/**
 * The console report of a `ccs-load` run: per scenario a plain-text table (targets as columns,
 * metrics as rows), then the threshold checks with ✓/✗, and last the verdict line: `PASSED` or
 * `FAILED (n checks)`.
 */
import {
  formatBytes,
  formatCount,
  formatDuration,
  formatMetricValue,
  formatSetting,
  formatTimestamp,
  plural,
  secondsBetween,
} from './format.js';
import type { LoadReport, ScenarioResult, ThresholdCheck } from './load-report.js';
import { scenarioMetricRows, SERVER_AGGREGATION_NOTE } from './metric-rows.js';
import { verdictLine, verdictOf } from './verdict.js';

/** Space between two columns. */
const GAP = '  ';

/** Report text made safe for a terminal: no control characters (no escape sequences), one line. */
function clean(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\r\n\t]+/g, ' ').replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}

/** Columns a string takes (every character here is one column wide). */
function width(text: string): number {
  return [...text].length;
}

function padEnd(text: string, size: number): string {
  return text + ' '.repeat(Math.max(0, size - width(text)));
}

function padStart(text: string, size: number): string {
  return ' '.repeat(Math.max(0, size - width(text))) + text;
}

/** Left-aligned first column, right-aligned others; every row the same width. */
function alignTable(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((title, column) =>
    Math.max(width(title), ...rows.map((row) => width(row[column] ?? ''))),
  );
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, column) =>
        column === 0 ? padEnd(cell, widths[column]!) : padStart(cell, widths[column]!),
      )
      .join(GAP);
  return [line(header), widths.map((size) => '-'.repeat(size)).join(GAP), ...rows.map(line)];
}

function renderScenario(scenario: ScenarioResult): string[] {
  const lines = [`== ${clean(scenario.scenario)} ==`];
  if (scenario.description) lines.push(clean(scenario.description));
  const settings = Object.entries(scenario.settings);
  if (settings.length > 0) {
    lines.push(
      `settings: ${settings.map(([key, value]) => `${clean(key)} ${clean(formatSetting(value))}`).join(' · ')}`,
    );
  }
  lines.push('');
  if (scenario.runs.length === 0) {
    lines.push('(no target was run)');
    return lines;
  }
  const metricRows = scenarioMetricRows(scenario);
  // Group titles are rows of their own; the metrics under them are indented.
  const rows: string[][] = [];
  const groupRows = new Set<number>();
  let group: string | undefined;
  for (const row of metricRows) {
    if (row.group !== group) {
      group = row.group;
      groupRows.add(rows.length);
      rows.push([clean(group), ...row.cells.map(() => '')]);
    }
    rows.push([`  ${clean(row.label)}`, ...row.cells.map((cell) => clean(cell.text))]);
  }
  const table = alignTable(['metric', ...scenario.runs.map((run) => clean(run.target))], rows);
  // A group title line carries no values: drop its trailing blanks.
  lines.push(...table.map((line, index) => (groupRows.has(index - 2) ? line.trimEnd() : line)));

  const notes = scenario.runs.flatMap((run) => [
    ...run.notes.map((note) => `  - ${clean(run.target)}: ${clean(note)}`),
    ...run.connections.failures
      .slice(0, 3)
      .map((failure) => `  - ${clean(run.target)}: connection failure: ${clean(failure)}`),
  ]);
  if (scenario.runs.some((run) => run.servers.length > 1)) {
    notes.push(`  - ${SERVER_AGGREGATION_NOTE}`);
  }
  if (notes.length > 0) lines.push('', 'notes:', ...notes);
  return lines;
}

function renderChecks(checks: readonly ThresholdCheck[]): string[] {
  if (checks.length === 0) return ['checks: none'];
  const rows = checks.map((check) => [
    check.passed ? '✓' : '✗',
    clean(check.scenario),
    clean(check.target),
    clean(check.metric),
    formatMetricValue(check.metric, check.actual),
    check.comparator,
    formatMetricValue(check.metric, check.limit),
  ]);
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => width(row[column]!))));
  // Text columns left-aligned, the values right-aligned.
  const rightAligned = new Set([4, 6]);
  const lines = rows.map((row) =>
    row
      .map((cell, column) =>
        rightAligned.has(column) ? padStart(cell, widths[column]!) : padEnd(cell, widths[column]!),
      )
      .join(GAP)
      .trimEnd(),
  );
  const failed = checks.filter((check) => !check.passed).length;
  return [
    `checks: ${formatCount(checks.length - failed)} of ${plural(checks.length, 'check')} passed`,
    ...lines,
  ];
}

/** Renders `report` as plain text for a terminal (no colours, aligned columns). */
export function renderConsoleReport(report: LoadReport): string {
  const elapsed = secondsBetween(report.startedAt, report.finishedAt);
  const { machine } = report;
  const lines = [
    `ccs-load report: ${clean(formatTimestamp(report.startedAt))} → ${clean(formatTimestamp(report.finishedAt))}` +
      (elapsed === undefined ? '' : ` (${formatDuration(elapsed)})`),
    `command: ${clean(report.command)}`,
    `machine: ${[
      clean(machine.cpuModel),
      plural(machine.cores, 'core'),
      `${formatBytes(machine.memoryBytes)} memory`,
      `Node ${clean(machine.node)}`,
      `PostgreSQL ${clean(machine.postgres)}`,
      clean(machine.platform),
      `open files ${formatCount(machine.openFileLimit)}`,
    ].join(' · ')}`,
    '',
  ];
  if (report.scenarios.length === 0) lines.push('(no scenarios)', '');
  for (const scenario of report.scenarios) lines.push(...renderScenario(scenario), '');
  lines.push(...renderChecks(report.checks), '', verdictLine(verdictOf(report)));
  return `${lines.join('\n')}\n`;
}
