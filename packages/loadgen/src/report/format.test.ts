import { describe, expect, it } from 'vitest';
import {
  formatBytes,
  formatCount,
  formatDuration,
  formatMetricValue,
  formatMs,
  formatNumber,
  formatPercent,
  formatRate,
  formatTimestamp,
  MISSING,
} from './format.js';

describe('report number formatting', () => {
  it('groups counts and rates', () => {
    expect(formatCount(12345)).toBe('12,345');
    expect(formatCount(1048576)).toBe('1,048,576');
    expect(formatRate(11600)).toBe('11,600/s');
    expect(formatRate(12.46)).toBe('12.5/s');
    expect(formatNumber(0.62)).toBe('0.62');
  });

  it('prints latencies with three significant digits, seconds from 1 s', () => {
    expect(formatMs(0.4123)).toBe('0.412 ms');
    expect(formatMs(1.234)).toBe('1.23 ms');
    expect(formatMs(4.1)).toBe('4.10 ms');
    expect(formatMs(12.34)).toBe('12.3 ms');
    expect(formatMs(123.4)).toBe('123 ms');
    expect(formatMs(999.8)).toBe('1.00 s');
    expect(formatMs(1840)).toBe('1.84 s');
    expect(formatMs(0)).toBe('0 ms');
  });

  it('prints bytes in binary units', () => {
    expect(formatBytes(18.2 * 1024)).toBe('18.2 KB');
    expect(formatBytes(412 * 1024 * 1024)).toBe('412 MB');
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(32 * 1024 ** 3)).toBe('32.0 GB');
  });

  it('prints the rest, and a dash for what was not measured', () => {
    expect(formatPercent(0.771)).toBe('77.1%');
    expect(formatDuration(45)).toBe('45.0 s');
    expect(formatDuration(287.5)).toBe('4 min 48 s');
    expect(formatTimestamp('2025-03-14T09:26:53.412Z')).toBe('2025-03-14 09:26:53 UTC');
    expect(formatTimestamp('yesterday')).toBe('yesterday');
    for (const value of [undefined, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(formatMs(value)).toBe(MISSING);
      expect(formatCount(value)).toBe(MISSING);
      expect(formatBytes(value)).toBe(MISSING);
    }
  });

  it('formats a check value in its metric’s unit', () => {
    expect(formatMetricValue('resume.time.p99Ms', 1840)).toBe('1.84 s');
    expect(formatMetricValue('servers.rssPerConnectionBytes', 42291)).toBe('41.3 KB');
    expect(formatMetricValue('rssPerConnectionBytes ÷ bare', 1.152)).not.toContain('B');
    expect(formatMetricValue('connections.perSec', 478)).toBe('478/s');
    expect(formatMetricValue('connections.perSec ÷ bare', 0.62)).toBe('0.62');
    expect(formatMetricValue('delivery.lost', 0)).toBe('0');
  });
});
