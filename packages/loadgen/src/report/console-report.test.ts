import { describe, expect, it } from 'vitest';
import { renderConsoleReport } from './console-report.js';
import { TARGET_NAMES } from './load-report.js';
import { buildSampleReport } from './report-fixture.test-helper.js';

const columns = (line: string): number => [...line].length;

/** The lines of each scenario's table: header, dashes, rows (up to the blank line after it). */
function tables(text: string): string[][] {
  const lines = text.split('\n');
  const found: string[][] = [];
  lines.forEach((line, index) => {
    if (!line.startsWith('metric ')) return;
    const end = lines.indexOf('', index);
    found.push(lines.slice(index, end));
  });
  return found;
}

/** [start, end) of each column, from the dashes under the header. */
function spans(dashes: string): [number, number][] {
  return [...dashes.matchAll(/-+/g)].map((m) => [m.index, m.index + m[0].length]);
}

describe('renderConsoleReport', () => {
  it('prints one aligned table per scenario: targets as columns, metrics as rows', () => {
    const report = buildSampleReport();
    const text = renderConsoleReport(report);
    const found = tables(text);
    expect(found).toHaveLength(report.scenarios.length);

    for (const table of found) {
      const [header, dashes, ...rows] = table as [string, string, ...string[]];
      const columnSpans = spans(dashes);
      expect(columnSpans).toHaveLength(1 + TARGET_NAMES.length);
      // Target names right-aligned over their column.
      TARGET_NAMES.forEach((target, index) => {
        const [start, end] = columnSpans[index + 1]!;
        expect(header.slice(start, end).trimStart()).toBe(target);
      });
      for (const row of rows) {
        if (!row.startsWith('  ')) {
          // A group title: nothing after the label column.
          expect(columns(row)).toBeLessThanOrEqual(columnSpans[0]![1]);
          continue;
        }
        // Every metric row is as wide as the dashes, and each value ends at its column's end.
        expect(columns(row), row).toBe(columns(dashes));
        for (const [start, end] of columnSpans.slice(1)) {
          const cell = row.slice(start, end);
          expect(cell.trim(), row).not.toBe('');
          expect(cell.endsWith(' '), row).toBe(false);
          expect(row[start - 1] ?? ' ', row).toBe(' ');
        }
      }
    }
  });

  it('formats numbers the same way as the HTML report', () => {
    const text = renderConsoleReport(buildSampleReport());
    const row = (label: string) => text.split('\n').find((line) => line.startsWith(`  ${label} `));
    expect(row('received / expected')).toMatch(/348,000 \/ 348,000/);
    expect(row('send→receive p99')).toMatch(/24\.1 ms\s+7\.48 ms\s+47\.8 ms\s+14\.2 ms$/);
    expect(row('RSS per connection')).toMatch(/41\.3 KB\s+18\.2 KB/);
    expect(row('deliveries/s')).toMatch(/11,600\/s/);
    expect(text).toMatch(/ {2}resume p99\s+1\.84 s\s+—\s+—\s+620 ms/);
  });

  it('lists the checks with ✓/✗ and ends with FAILED (n checks)', () => {
    const text = renderConsoleReport(buildSampleReport());
    const lines = text.trimEnd().split('\n');
    expect(lines.at(-1)).toBe('FAILED (1 check)');
    expect(lines.filter((line) => line.startsWith('✓ '))).toHaveLength(6);
    const failed = lines.filter((line) => line.startsWith('✗ '));
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatch(
      /reconnect-storm\s+ccs\s+resume\.time\.p99Ms\s+1\.84 s\s+<=\s+1\.50 s$/,
    );
    expect(text).toContain('checks: 6 of 7 checks passed');

    const twoFailed = buildSampleReport();
    const text2 = renderConsoleReport({
      ...twoFailed,
      checks: twoFailed.checks.map((check, index) =>
        index === 0 ? { ...check, passed: false } : check,
      ),
    });
    expect(text2.trimEnd().split('\n').at(-1)).toBe('FAILED (2 checks)');
  });

  it('ends with PASSED when every check passed', () => {
    const sample = buildSampleReport();
    const text = renderConsoleReport({
      ...sample,
      checks: sample.checks.map((check) => ({ ...check, passed: true })),
      passed: true,
    });
    expect(text.trimEnd().split('\n').at(-1)).toBe('PASSED');
    expect(text).not.toContain('✗');
  });

  it('says why it failed when no check did', () => {
    const sample = buildSampleReport();
    const checks = sample.checks.map((check) => ({ ...check, passed: true }));
    expect(
      renderConsoleReport({ ...sample, checks })
        .trimEnd()
        .split('\n')
        .at(-1),
    ).toBe('FAILED (0 checks; the report is marked failed)');
  });

  it('keeps terminal escape sequences from the report out of the output', () => {
    const sample = buildSampleReport();
    const text = renderConsoleReport({
      ...sample,
      command: 'ccs-load \u001b[2J suite',
      scenarios: sample.scenarios.map((scenario) => ({
        ...scenario,
        description: 'red \u001b[31malert\u001b[0m\nsecond line',
      })),
    });
    expect(text).not.toContain('\u001b');
    expect(text).toContain('red ?[31malert?[0m second line');
  });
});
