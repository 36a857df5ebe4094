/**
 * The HTML report of a `ccs-load` run: one self-contained page (inline CSS and inline SVG charts,
 * no script, nothing loaded from anywhere; its Content-Security-Policy forbids it), readable
 * offline and attachable to an issue.
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
import { escapeHtml } from './html-escape.js';
import type { LoadReport, ScenarioResult, ThresholdCheck } from './load-report.js';
import {
  bestCells,
  isAlarm,
  scenarioMetricRows,
  SERVER_AGGREGATION_NOTE,
  type MetricRow,
} from './metric-rows.js';
import {
  histogramSubject,
  renderHistogramChart,
  renderTimelineChart,
  targetColour,
} from './report-charts.js';
import { verdictOf } from './verdict.js';

const STYLE = `
:root { color-scheme: light; --ink: #1f2933; --muted: #5b6472; --line: #d9dee5; --pass: #0b6e4f;
  --pass-bg: #e3f4ec; --fail: #b42318; --fail-bg: #fdecea; --card: #fff; --bg: #f3f5f8; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1320px; margin: 0 auto; padding: 24px 24px 48px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 0 0 8px; }
h3 { font-size: 15px; margin: 18px 0 8px; }
code, pre, .mono { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", monospace; font-size: 12.5px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 18px 20px; margin: 16px 0; }
.meta { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 12px 0 0; }
.meta dt { color: var(--muted); }
.meta dd { margin: 0; }
pre.command { margin: 0; white-space: pre-wrap; overflow-wrap: anywhere; background: #f6f8fa; border: 1px solid var(--line); border-radius: 6px; padding: 6px 10px; }
.verdict { display: flex; align-items: center; gap: 16px; padding: 14px 20px; border-radius: 8px; margin: 16px 0; font-size: 15px; }
.verdict strong { font-size: 24px; letter-spacing: 0.04em; }
.verdict .headline { font-weight: 600; }
.verdict ul { margin: 2px 0 0; padding-left: 18px; }
.verdict.passed { background: var(--pass-bg); color: var(--pass); border: 1px solid #9fd3bd; }
.verdict.failed { background: var(--fail-bg); color: var(--fail); border: 1px solid #f1a9a0; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { padding: 4px 10px; text-align: left; border-bottom: 1px solid #edf0f3; white-space: nowrap; }
thead th { border-bottom: 2px solid var(--line); font-weight: 600; vertical-align: bottom; }
td.num, th.num { text-align: right; }
.table-wrap { overflow-x: auto; }
table.checks tr.failed td { background: var(--fail-bg); color: var(--fail); font-weight: 600; }
table.checks td.status { font-weight: 600; }
table.checks tr.passed td.status { color: var(--pass); }
table.compare { min-width: 640px; }
table.compare tbody th { font-weight: normal; padding-left: 18px; }
table.compare tr.group th { background: #f3f5f8; color: var(--muted); font-size: 12px; font-weight: 600;
  text-transform: uppercase; letter-spacing: 0.05em; padding: 6px 10px 3px; }
table.compare td.best { color: var(--pass); font-weight: 600; }
table.compare td.alarm { color: var(--fail); background: var(--fail-bg); font-weight: 600; }
table.compare td.missing { color: #9aa3ad; }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 6px; vertical-align: baseline; }
.settings { display: flex; flex-wrap: wrap; gap: 6px; margin: 8px 0 4px; padding: 0; list-style: none; }
.settings li { background: #eef2f7; border-radius: 4px; padding: 2px 8px; font-size: 13px; }
.settings .key { color: var(--muted); }
.description { margin: 0 0 4px; max-width: 90ch; }
.legend-note, .hint { color: var(--muted); font-size: 12.5px; }
.notes { margin: 6px 0 0; padding-left: 20px; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(480px, 1fr)); gap: 16px; margin-top: 8px; }
figure { margin: 0; }
figcaption { font-weight: 600; margin: 0 0 4px; }
svg.chart { display: block; width: 100%; height: auto; font-family: inherit; }
svg.chart text { fill: var(--ink); }
svg.chart text.tick { fill: var(--muted); }
nav.toc { margin: 8px 0 0; }
nav.toc a { margin-right: 14px; }
footer { color: var(--muted); font-size: 12px; margin-top: 24px; }
@media print { body { background: #fff; } .card { break-inside: avoid; border: none; } }
`;

/** A CSP that lets the page use its inline style and nothing else: no script, no request. */
const CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

/** `fanout 10k` → `fanout-10k` (for an element id). */
function slug(text: string): string {
  return (
    text
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '') || 'scenario'
  );
}

function scenarioId(scenario: ScenarioResult, index: number): string {
  return `scenario-${index + 1}-${slug(scenario.scenario)}`;
}

function renderHeader(report: LoadReport): string {
  const { machine } = report;
  const elapsed = secondsBetween(report.startedAt, report.finishedAt);
  const machineText = [
    machine.cpuModel,
    plural(machine.cores, 'core'),
    `${formatBytes(machine.memoryBytes)} memory`,
    `Node ${machine.node}`,
    `PostgreSQL ${machine.postgres}`,
    machine.platform,
    `open files ${formatCount(machine.openFileLimit)}`,
  ]
    .map(escapeHtml)
    .join(' · ');
  return `<header class="card">
<h1>ccs-load report</h1>
<dl class="meta">
<dt>started</dt><dd>${escapeHtml(formatTimestamp(report.startedAt))}</dd>
<dt>finished</dt><dd>${escapeHtml(formatTimestamp(report.finishedAt))}${
    elapsed === undefined
      ? ''
      : ` <span class="hint">(${escapeHtml(formatDuration(elapsed))})</span>`
  }</dd>
<dt>command</dt><dd><pre class="command"><code>${escapeHtml(report.command)}</code></pre></dd>
<dt>machine</dt><dd>${machineText}</dd>
<dt>scenarios</dt><dd>${renderToc(report)}</dd>
</dl>
</header>`;
}

function renderToc(report: LoadReport): string {
  if (report.scenarios.length === 0) return '<span class="hint">none</span>';
  return `<nav class="toc">${report.scenarios
    .map(
      (scenario, index) =>
        `<a href="#${scenarioId(scenario, index)}">${escapeHtml(scenario.scenario)}</a>`,
    )
    .join('')}</nav>`;
}

/** `reconnect-storm · ccs: resume.time.p99Ms 1.84 s, limit ≤ 1.50 s`. */
function describeCheck(check: ThresholdCheck): string {
  return (
    `${check.scenario} · ${check.target}: ${check.metric} ${formatMetricValue(check.metric, check.actual)}, ` +
    `limit ${check.comparator === '<=' ? '≤' : '≥'} ${formatMetricValue(check.metric, check.limit)}`
  );
}

/** How many failed checks the banner names; the table has them all. */
const BANNER_CHECKS = 5;

function renderVerdict(report: LoadReport): string {
  const verdict = verdictOf(report);
  const failed = verdict.failedChecks.length;
  const headline =
    report.checks.length === 0
      ? 'no threshold checks'
      : failed === 0
        ? `all ${plural(report.checks.length, 'threshold check')} passed`
        : `${formatCount(failed)} of ${plural(report.checks.length, 'threshold check')} failed`;
  const reasons = [
    ...verdict.failedChecks.slice(0, BANNER_CHECKS).map(describeCheck),
    ...(failed > BANNER_CHECKS ? [`and ${formatCount(failed - BANNER_CHECKS)} more below`] : []),
    ...verdict.faultyCcsRuns.map(
      ({ scenario, run }) =>
        `${scenario} · ccs: ${formatCount(run.delivery.lost)} lost, ${formatCount(run.delivery.duplicated)} duplicated, ` +
        `${formatCount(run.delivery.outOfOrder)} out-of-order deliveries`,
    ),
  ];
  if (!verdict.passed && reasons.length === 0) reasons.push('the report is marked failed');
  const list =
    reasons.length === 0
      ? ''
      : `<ul>${reasons.map((reason) => `<li>${escapeHtml(reason)}</li>`).join('')}</ul>`;
  return `<section class="verdict ${verdict.passed ? 'passed' : 'failed'}" id="verdict" data-passed="${verdict.passed}">
<strong>${verdict.passed ? 'PASSED' : 'FAILED'}</strong><div><div class="headline">${escapeHtml(headline)}</div>${list}</div>
</section>`;
}

function renderCheckRow(check: ThresholdCheck): string {
  const comparator = check.comparator === '<=' ? '≤' : '≥';
  return `<tr class="${check.passed ? 'passed' : 'failed'}">
<td class="status">${check.passed ? '✓ pass' : '✗ FAIL'}</td>
<td>${escapeHtml(check.scenario)}</td>
<td>${escapeHtml(check.target)}</td>
<td class="mono">${escapeHtml(check.metric)}</td>
<td class="num">${escapeHtml(formatMetricValue(check.metric, check.actual))}</td>
<td class="num">${comparator} ${escapeHtml(formatMetricValue(check.metric, check.limit))}</td>
</tr>`;
}

function renderChecks(report: LoadReport): string {
  const body =
    report.checks.length === 0
      ? '<p class="hint">No thresholds were checked.</p>'
      : `<div class="table-wrap"><table class="checks">
<thead><tr><th>result</th><th>scenario</th><th>target</th><th>metric</th><th class="num">actual</th><th class="num">limit</th></tr></thead>
<tbody>
${report.checks.map(renderCheckRow).join('\n')}
</tbody></table></div>`;
  return `<section class="card" id="checks"><h2>Threshold checks</h2>${body}</section>`;
}

function renderCompareRows(rows: readonly MetricRow[], columns: number): string {
  const out: string[] = [];
  let group: string | undefined;
  for (const row of rows) {
    if (row.group !== group) {
      group = row.group;
      out.push(`<tr class="group"><th colspan="${columns + 1}">${escapeHtml(group)}</th></tr>`);
    }
    const best = bestCells(row);
    const cells = row.cells.map((cell, index) => {
      const classes = ['num'];
      if (cell.value === undefined && cell.text === '—') classes.push('missing');
      if (isAlarm(row, cell)) classes.push('alarm');
      else if (best.has(index)) classes.push('best');
      return `<td class="${classes.join(' ')}">${escapeHtml(cell.text)}</td>`;
    });
    out.push(`<tr><th scope="row">${escapeHtml(row.label)}</th>${cells.join('')}</tr>`);
  }
  return out.join('\n');
}

function renderSettings(scenario: ScenarioResult): string {
  const entries = Object.entries(scenario.settings);
  if (entries.length === 0) return '';
  return `<ul class="settings">${entries
    .map(
      ([key, value]) =>
        `<li><span class="key">${escapeHtml(key)}</span> ${escapeHtml(formatSetting(value))}</li>`,
    )
    .join('')}</ul>`;
}

function renderNotes(scenario: ScenarioResult): string {
  const items = scenario.runs.flatMap((run) => [
    ...run.notes.map(
      (note) => `<li><strong>${escapeHtml(run.target)}</strong>: ${escapeHtml(note)}</li>`,
    ),
    ...(run.connections.failures.length > 0
      ? [
          `<li><strong>${escapeHtml(run.target)}</strong>: connection failures, e.g. ${run.connections.failures
            .slice(0, 5)
            .map((failure) => `<code>${escapeHtml(failure)}</code>`)
            .join(', ')}</li>`,
        ]
      : []),
  ]);
  if (scenario.runs.some((run) => run.servers.length > 1)) {
    items.push(`<li class="legend-note">${escapeHtml(SERVER_AGGREGATION_NOTE)}</li>`);
  }
  if (items.length === 0) return '';
  return `<h3>Notes</h3><ul class="notes">${items.join('')}</ul>`;
}

function renderScenario(scenario: ScenarioResult, index: number): string {
  const rows = scenarioMetricRows(scenario);
  const head = scenario.runs
    .map(
      (run, runIndex) =>
        `<th class="num" scope="col"><span class="swatch" style="background:${targetColour(run.target, runIndex)}"></span>${escapeHtml(run.target)}</th>`,
    )
    .join('');
  const table =
    scenario.runs.length === 0
      ? '<p class="hint">No target was run.</p>'
      : `<div class="table-wrap"><table class="compare">
<thead><tr><th scope="col">metric</th>${head}</tr></thead>
<tbody>
${renderCompareRows(rows, scenario.runs.length)}
</tbody></table></div>
<p class="legend-note">Green: the best target on that row. Red: lost, duplicated or reordered deliveries, or failed connects or subscribes.</p>`;
  return `<section class="card scenario" id="${scenarioId(scenario, index)}" data-scenario="${escapeHtml(scenario.scenario)}">
<h2>${escapeHtml(scenario.scenario)}</h2>
<p class="description">${escapeHtml(scenario.description)}</p>
${renderSettings(scenario)}
<h3>Targets compared</h3>
${table}
${renderNotes(scenario)}
<div class="charts">
<figure><figcaption>send→receive latency over time</figcaption>${renderTimelineChart(scenario)}<p class="legend-note">p99 (solid, one dot per second) and p50 (dashed) of the deliveries received in each second.</p></figure>
<figure><figcaption>${escapeHtml(histogramSubject(scenario))} latency histogram</figcaption>${renderHistogramChart(scenario)}<p class="legend-note">Share of each target's samples per latency bucket.</p></figure>
</div>
</section>`;
}

/** Renders `report` as one self-contained HTML page. */
export function renderHtmlReport(report: LoadReport): string {
  const verdict = verdictOf(report);
  const scenarios =
    report.scenarios.length === 0
      ? '<section class="card"><p class="hint">The report has no scenarios.</p></section>'
      : report.scenarios.map(renderScenario).join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${CONTENT_SECURITY_POLICY}">
<title>ccs-load report ${escapeHtml(formatTimestamp(report.startedAt))}: ${verdict.passed ? 'PASSED' : 'FAILED'}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
${renderHeader(report)}
${renderVerdict(report)}
${renderChecks(report)}
${scenarios}
<footer>Generated by ccs-load. Latencies are HDR histogram percentiles (3 significant digits); sizes in binary units (1 KB = 1,024 B).</footer>
</main>
</body>
</html>
`;
}
