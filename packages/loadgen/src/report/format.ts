/**
 * Number formatting shared by the console and HTML reports, so both print the same value the
 * same way: `12,345`, `1.23 ms`, `18.2 KB`, `1,234/s`. A value that was not measured (undefined,
 * NaN, ±Infinity) prints as {@link MISSING}.
 */

/** What a cell shows for a value that was not measured. */
export const MISSING = '—';

const grouped = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

function isNumber(value: number | undefined): value is number {
  return value !== undefined && Number.isFinite(value);
}

/**
 * `value` with three significant digits, keeping trailing zeros so a column reads evenly:
 * `0.412`, `1.20`, `12.3`, `123`, and grouped from 1,000 on.
 */
function fixed3(value: number): string {
  const rounded = Number(value.toPrecision(3));
  const size = Math.abs(rounded);
  if (size >= 100) return grouped.format(rounded);
  if (size >= 10) return rounded.toFixed(1);
  if (size >= 1) return rounded.toFixed(2);
  if (size === 0) return '0';
  return rounded.toPrecision(3);
}

/** `value` with three significant digits, without trailing zeros: 1.23, 12.3, 0.5. */
function threeDigits(value: number): string {
  if (value === 0) return '0';
  return String(Number(value.toPrecision(3)));
}

/**
 * An amount: thousands grouped, three significant digits below 100 (`12,345`, `42`, `3.5`,
 * `0.123`).
 */
export function formatNumber(value: number | undefined): string {
  if (!isNumber(value)) return MISSING;
  if (Math.abs(value) >= 100) return grouped.format(value);
  return threeDigits(value);
}

/** A count: `12,345` (rounded). */
export function formatCount(value: number | undefined): string {
  if (!isNumber(value)) return MISSING;
  return grouped.format(Math.round(value));
}

/** A rate per second: `1,234/s`, `12.5/s`. */
export function formatRate(value: number | undefined): string {
  if (!isNumber(value)) return MISSING;
  return `${formatNumber(value)}/s`;
}

/**
 * A latency, three significant digits: `0.412 ms`, `1.23 ms`, `12.3 ms`, `123 ms`, then seconds
 * from one second on: `1.23 s`, `12.3 s`, `1,234 s`.
 */
export function formatMs(value: number | undefined): string {
  if (!isNumber(value)) return MISSING;
  if (Math.abs(Number(value.toPrecision(3))) >= 1000) return `${fixed3(value / 1000)} s`;
  return `${fixed3(value)} ms`;
}

/** An axis tick in milliseconds, as short as it can be: `0 ms`, `2.5 ms`, `500 ms`, `1.5 s`. */
export function formatMsTick(value: number): string {
  if (Math.abs(value) >= 1000) return `${threeDigits(value / 1000)} s`;
  return `${threeDigits(value)} ms`;
}

const BYTE_UNITS = ['B', 'KB', 'MB', 'GB', 'TB'] as const;

/** Bytes in binary units (1 KB = 1,024 B), three significant digits: `18.2 KB`, `412 MB`. */
export function formatBytes(value: number | undefined): string {
  if (!isNumber(value)) return MISSING;
  let scaled = value;
  let unit = 0;
  while (Math.abs(scaled) >= 1024 && unit < BYTE_UNITS.length - 1) {
    scaled /= 1024;
    unit += 1;
  }
  if (unit === 0) return `${grouped.format(scaled)} B`;
  return `${fixed3(scaled)} ${BYTE_UNITS[unit]}`;
}

/** CPU use in cores: `0.42`, `1.85`, `12.3`. */
export function formatCores(value: number | undefined): string {
  if (!isNumber(value)) return MISSING;
  return value.toFixed(value >= 10 ? 1 : 2);
}

/** A fraction 0..1 as a percentage: `0.423` → `42.3%`. */
export function formatPercent(fraction: number | undefined): string {
  if (!isNumber(fraction)) return MISSING;
  return `${fixed3(fraction * 100)}%`;
}

/** A duration in seconds: `45.2 s`, `3 min 12 s`. */
export function formatDuration(seconds: number | undefined): string {
  if (!isNumber(seconds)) return MISSING;
  if (seconds < 60) return `${fixed3(seconds)} s`;
  const whole = Math.round(seconds);
  const minutes = Math.floor(whole / 60);
  const rest = whole % 60;
  if (minutes < 60) return `${minutes} min ${rest} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/**
 * A threshold check's value, in the unit its metric name says: `…Ms` → latency, `…Bytes` →
 * bytes, `…perSec` → rate, `…Cores` → cores, anything else (counts, ratios) → a number.
 */
export function formatMetricValue(metric: string, value: number): string {
  const name = metric.trim();
  // A ratio (`connections.perSec ÷ bare`) is a plain number, whatever it divides.
  if (name.includes('÷')) return formatNumber(value);
  if (/Ms\b/.test(name)) return formatMs(value);
  if (/Bytes\b/.test(name)) return formatBytes(value);
  if (/(perSec|PerSec)$/.test(name)) return formatRate(value);
  if (/(cores|Cores)$/.test(name)) return formatCores(value);
  return formatNumber(value);
}

/**
 * An ISO timestamp as `2025-03-14 09:26:53 UTC`; anything that is not a date comes back as it
 * was.
 */
export function formatTimestamp(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return `${date.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** Seconds between two ISO timestamps, or undefined if either is not a date. */
export function secondsBetween(startIso: string, endIso: string): number | undefined {
  const start = new Date(startIso).getTime();
  const end = new Date(endIso).getTime();
  if (Number.isNaN(start) || Number.isNaN(end)) return undefined;
  return (end - start) / 1000;
}

/** A scenario setting: numbers grouped, booleans as yes/no, strings as they are. */
export function formatSetting(value: number | string | boolean): string {
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (typeof value === 'number') return formatNumber(value);
  return value;
}

/** `1 check`, `3 checks`. */
export function plural(count: number, singular: string, pluralForm = `${singular}s`): string {
  return `${formatCount(count)} ${count === 1 ? singular : pluralForm}`;
}
