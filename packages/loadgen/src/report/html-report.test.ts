import { describe, expect, it } from 'vitest';
import { renderHtmlReport } from './html-report.js';
import { TARGET_NAMES, type LoadReport, type ScenarioResult } from './load-report.js';
import { buildSampleReport, mapRuns } from './report-fixture.test-helper.js';

/** The `<section>` of scenario `name`. */
function scenarioSection(html: string, name: string): string {
  const start = html.indexOf(`data-scenario="${name}"`);
  expect(start, `section of ${name}`).toBeGreaterThan(0);
  return html.slice(start, html.indexOf('</section>', start));
}

/** The `<svg>` chart of `kind` inside `section`. */
function chart(section: string, kind: 'timeline' | 'histogram'): string {
  const start = section.indexOf(`<svg class="chart" data-chart="${kind}"`);
  expect(start, `${kind} chart`).toBeGreaterThanOrEqual(0);
  return section.slice(start, section.indexOf('</svg>', start) + '</svg>'.length);
}

/** The targets a chart draws a line for. */
function seriesOf(svg: string): string[] {
  return [
    ...new Set([...svg.matchAll(/<path class="series" data-series="([^"]*)"/g)].map((m) => m[1]!)),
  ].sort();
}

function withScenario(
  report: LoadReport,
  index: number,
  change: (scenario: ScenarioResult) => ScenarioResult,
): LoadReport {
  return {
    ...report,
    scenarios: report.scenarios.map((scenario, at) => (at === index ? change(scenario) : scenario)),
  };
}

describe('renderHtmlReport', () => {
  it('is one self-contained page: no script, no external resource, a CSP that forbids them', () => {
    const html = renderHtmlReport(buildSampleReport());
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).toContain(
      `<meta http-equiv="Content-Security-Policy" content="default-src 'none'`,
    );
    expect(html).not.toMatch(/<script|<link|<img|<iframe|@import|url\(/i);
    expect(html).not.toMatch(/\s(src|srcset)=/i);
    // Links only to anchors on the page.
    for (const [, href] of html.matchAll(/href="([^"]*)"/g)) expect(href).toMatch(/^#/);
    expect(html).not.toMatch(/NaN|Infinity|undefined/);
  });

  it('escapes every string from the report', () => {
    const attack = '<script>alert("x")</script>';
    const report = withScenario(buildSampleReport(), 0, (scenario) => ({
      ...scenario,
      scenario: `"><svg onload=alert(1)>`,
      description: `fan-out ${attack}`,
      settings: { ...scenario.settings, [`<b>key</b>`]: `<i>value</i> & 'more'` },
      runs: scenario.runs.map((run, index) =>
        index === 0
          ? {
              ...run,
              notes: [`note <img src=x onerror=alert(1)>`],
              disconnects: { '<u>reason</u>': 1 },
              connections: { ...run.connections, failures: ['</code><script>x()</script>'] },
            }
          : run,
      ),
    }));
    const html = renderHtmlReport({
      ...report,
      command: `ccs-load suite --note '${attack}'`,
      machine: { ...report.machine, cpuModel: '<em>cpu</em>' },
      checks: report.checks.map((check, index) =>
        index === 0 ? { ...check, metric: '<marquee>p99</marquee>' } : check,
      ),
    });

    expect(html).not.toMatch(
      /<script|<img|<svg onload|<b>key|<i>value|<u>reason|<em>cpu|<marquee/i,
    );
    expect(html).toContain('fan-out &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    expect(html).toContain('note &lt;img src=x onerror=alert(1)&gt;');
    expect(html).toContain('&lt;i&gt;value&lt;/i&gt; &amp; &#39;more&#39;');
    expect(html).toContain('&quot;&gt;&lt;svg onload=alert(1)&gt;');
    expect(html).toContain('disconnect: &lt;u&gt;reason&lt;/u&gt;');
    expect(html).toContain('&lt;marquee&gt;p99&lt;/marquee&gt;');
    // Only the four charts are SVG.
    expect(html.match(/<svg/g)).toHaveLength(4);
  });

  it('draws both charts of every scenario, with a line per target', () => {
    const report = buildSampleReport();
    const html = renderHtmlReport(report);
    for (const scenario of report.scenarios) {
      const section = scenarioSection(html, scenario.scenario);
      for (const kind of ['timeline', 'histogram'] as const) {
        const svg = chart(section, kind);
        expect(seriesOf(svg), `${scenario.scenario} ${kind}`).toEqual([...TARGET_NAMES].sort());
        // Axes: ticks with labels, and the axis titles.
        expect(svg.match(/<text class="tick"/g)!.length).toBeGreaterThanOrEqual(6);
        expect(svg).toContain('class="axis-label"');
        // A legend entry per target.
        for (const target of TARGET_NAMES) expect(svg).toContain(`>${target}</text>`);
      }
      expect(chart(section, 'timeline')).toContain('>p99</text>');
      expect(chart(section, 'histogram')).toContain('send→receive latency (log scale)');
    }
  });

  it('shows the comparison table with formatted numbers', () => {
    const html = renderHtmlReport(buildSampleReport());
    const fanout = scenarioSection(html, 'fanout');
    for (const label of [
      'attempted',
      'connects/s',
      'connect p99',
      'subscribes/s',
      'subscribe p99',
      'sends/s',
      'deliveries/s',
      'send→ack p50',
      'send→ack p99',
      'send→receive p50',
      'send→receive p90',
      'send→receive p99',
      'send→receive p99.9',
      'send→receive max',
      'commit→receive p99',
      'lost',
      'duplicated',
      'out of order',
      'disconnect: transport close',
      'server peak RSS',
      'RSS per connection',
      'server CPU cores',
      'event-loop lag p99',
    ]) {
      expect(fanout).toContain(`<th scope="row">${label}</th>`);
    }
    expect(fanout).toContain('>348,000 / 348,000<');
    expect(fanout).toContain('>24.1 ms<');
    expect(fanout).toContain('>41.3 KB<');
    expect(fanout).toContain('>11,600/s<');
    const storm = scenarioSection(html, 'reconnect-storm');
    expect(storm).toContain('<th scope="row">resumed / dropped</th>');
    expect(storm).toContain('<th scope="row">resume p99</th>');
    expect(storm).toContain('>1.84 s<');
    // Lost deliveries are red.
    expect(storm).toContain('<td class="num alarm">2,312</td>');
  });

  it('marks the failed check and says FAILED', () => {
    const html = renderHtmlReport(buildSampleReport());
    expect(html).toMatch(/<section class="verdict failed"[^>]*>\s*<strong>FAILED<\/strong>/);
    expect(html).toContain('1 of 7 threshold checks failed');
    const failedRows = [...html.matchAll(/<tr class="failed">([\s\S]*?)<\/tr>/g)].map((m) => m[1]!);
    expect(failedRows).toHaveLength(1);
    expect(failedRows[0]).toContain('resume.time.p99Ms');
    expect(failedRows[0]).toContain('✗ FAIL');
    expect(failedRows[0]).toContain('1.84 s');
    expect(html.match(/<tr class="passed">/g)).toHaveLength(6);
  });

  it('says PASSED when every check passed', () => {
    const sample = buildSampleReport();
    const html = renderHtmlReport({
      ...sample,
      checks: sample.checks.map((check) => ({ ...check, passed: true })),
      passed: true,
    });
    expect(html).toMatch(/<section class="verdict passed"[^>]*>\s*<strong>PASSED<\/strong>/);
    expect(html).toContain('all 7 threshold checks passed');
    expect(html).not.toContain('<tr class="failed">');
  });

  it('handles empty timelines: "no deliveries measured", no line, no NaN', () => {
    const report = mapRuns(buildSampleReport(), (run) => ({ ...run, timeline: [] }));
    const html = renderHtmlReport(report);
    const timeline = chart(scenarioSection(html, 'fanout'), 'timeline');
    expect(timeline).toContain('no deliveries measured');
    expect(seriesOf(timeline)).toEqual([]);
    expect(html).not.toMatch(/NaN|Infinity/);
    // The histogram still has the delivery distribution.
    expect(seriesOf(chart(scenarioSection(html, 'fanout'), 'histogram'))).toHaveLength(4);
  });

  it('draws a single timeline point as a dot', () => {
    const report = mapRuns(buildSampleReport(), (run) => ({
      ...run,
      timeline: [{ atSec: 0, count: 120, p50Ms: 3.2, p99Ms: 9.8 }],
    }));
    const html = renderHtmlReport(report);
    const timeline = chart(scenarioSection(html, 'fanout'), 'timeline');
    expect(seriesOf(timeline)).toEqual([...TARGET_NAMES].sort());
    // A dot for each target's p99 and p50.
    expect(timeline.match(/<circle /g)).toHaveLength(8);
    expect(timeline).toContain('samples</title>');
    expect(html).not.toMatch(/NaN|Infinity/);
  });

  it('shows connect times when no run has deliveries, and says which runs lack them', () => {
    const noDeliveries = mapRuns(buildSampleReport(), (run) => ({
      ...run,
      sendToReceive: undefined,
      timeline: [],
    }));
    const html = renderHtmlReport(noDeliveries);
    const histogram = chart(scenarioSection(html, 'fanout'), 'histogram');
    expect(histogram).toContain('connect time (log scale)');
    expect(seriesOf(histogram)).toHaveLength(4);
    expect(html).toContain('connect time latency histogram');

    const mixed = mapRuns(buildSampleReport(), (run) =>
      run.target === 'bare' ? { ...run, sendToReceive: undefined, timeline: [] } : run,
    );
    const mixedHtml = renderHtmlReport(mixed);
    const mixedHistogram = chart(scenarioSection(mixedHtml, 'fanout'), 'histogram');
    expect(mixedHistogram).toContain('send→receive latency (log scale)');
    expect(mixedHistogram).toContain('bare (connect time: no deliveries)');
    expect(mixedHistogram).toMatch(/data-series="bare"[^>]*stroke-dasharray/);
    const mixedTimeline = chart(scenarioSection(mixedHtml, 'fanout'), 'timeline');
    expect(mixedTimeline).toContain('bare (no deliveries measured)');
    expect(seriesOf(mixedTimeline)).toEqual(['ccs', 'postgres-adapter', 'redis-streams']);
  });

  it('renders a report without scenarios or checks', () => {
    const html = renderHtmlReport({
      ...buildSampleReport(),
      scenarios: [],
      checks: [],
      passed: true,
    });
    expect(html).toContain('The report has no scenarios.');
    expect(html).toContain('No thresholds were checked.');
    expect(html).toContain('<strong>PASSED</strong>');
  });
});
