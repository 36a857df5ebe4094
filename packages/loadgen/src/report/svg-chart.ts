/**
 * A small server-side SVG line chart: linear or logarithmic axes with ticks, labels and grid,
 * line series (with gaps), point markers with native tooltips, and a legend. Output is inline SVG
 * for the self-contained HTML report: no script, no external resource.
 */
import { escapeHtml } from './html-escape.js';

/** A point in data coordinates. */
export type DataPoint = readonly [x: number, y: number];

/** One line: its runs of connected points (a gap between runs is not drawn). */
export interface LineSeries {
  /** Written to `data-series` (e.g. the target name). */
  readonly key: string;
  readonly colour: string;
  /** SVG `stroke-dasharray`, for a dashed line. */
  readonly dash?: string;
  readonly width?: number;
  /** Fills the area under the line (a segment that starts and ends on the x axis). */
  readonly fillOpacity?: number;
  readonly segments: readonly (readonly DataPoint[])[];
  /** Dots with a hover text (SVG `<title>`). */
  readonly markers?: readonly { readonly at: DataPoint; readonly title: string }[];
}

/** One entry of the legend. */
export interface LegendItem {
  readonly label: string;
  readonly colour: string;
  readonly dash?: string;
}

/** One axis. */
export interface AxisSpec {
  readonly kind: 'linear' | 'log';
  readonly label: string;
  readonly formatTick: (value: number) => string;
  /** Force the axis to include these values (e.g. 0 for a linear latency axis). */
  readonly include?: readonly number[];
}

/** A chart to draw. */
export interface ChartSpec {
  /** For `aria-label`. */
  readonly title: string;
  /** Written to `data-chart`. */
  readonly kind: string;
  readonly x: AxisSpec;
  readonly y: AxisSpec;
  readonly series: readonly LineSeries[];
  readonly legend: readonly LegendItem[];
  /** Shown in the plot area when no series has a point. */
  readonly emptyMessage: string;
  readonly width?: number;
  readonly height?: number;
}

interface Tick {
  readonly value: number;
  readonly label: string;
}

interface Scale {
  readonly domain: readonly [number, number];
  readonly ticks: readonly Tick[];
  /** Grid lines without a label (between labelled ticks of a log axis). */
  readonly minor: readonly number[];
  /** Maps a data value onto 0..1 of the axis. */
  readonly unit: (value: number) => number;
}

const round = (value: number): string => String(Math.round(value * 10) / 10);

/** The 1-2-5 step nearest to `rough`. */
function niceStep(rough: number): number {
  const power = 10 ** Math.floor(Math.log10(rough));
  const fraction = rough / power;
  const nice =
    fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 2.5 ? 2.5 : fraction <= 5 ? 5 : 10;
  return nice * power;
}

/** A linear scale over `[min, max]`, widened to round ticks (about `count` of them). */
export function linearScale(
  min: number,
  max: number,
  format: (value: number) => string,
  count = 5,
): Scale {
  let low = min;
  let high = max;
  if (!(high > low)) {
    // One value (or none): a range around it that starts at 0 for a positive value.
    high = low > 0 ? low * 2 : low + 1;
    low = low > 0 ? 0 : low;
  }
  const step = niceStep((high - low) / count);
  low = Math.floor(low / step + 1e-9) * step;
  high = Math.ceil(high / step - 1e-9) * step;
  const ticks: Tick[] = [];
  for (let index = 0; low + index * step <= high + step / 1e6; index += 1) {
    const value = Number((low + index * step).toPrecision(12));
    ticks.push({ value, label: format(value) });
  }
  return {
    domain: [low, high],
    ticks,
    minor: [],
    unit: (value) => (value - low) / (high - low),
  };
}

const LOG_STEPS = [1, 2, 5] as const;
/** More 1-2-5 ticks than this on a log axis: only the decades get a label. */
const MAX_LOG_LABELS = 9;

/** The 1-2-5 values of one decade and the next, from `10^power` on. */
function oneTwoFive(power: number): number[] {
  return LOG_STEPS.map((step) => Number((step * 10 ** power).toPrecision(3)));
}

/** A log10 scale over `[min, max]` (both > 0), widened to 1-2-5 values. */
export function logScale(min: number, max: number, format: (value: number) => string): Scale {
  let low = min > 0 ? min : 1e-3;
  let high = max > low ? max : low * 10;
  const firstPower = Math.floor(Math.log10(low));
  const lastPower = Math.ceil(Math.log10(high));
  const candidates: number[] = [];
  for (let power = firstPower; power <= lastPower; power += 1)
    candidates.push(...oneTwoFive(power));
  low = [...candidates].reverse().find((value) => value <= low * (1 + 1e-9)) ?? low;
  high = candidates.find((value) => value >= high * (1 - 1e-9)) ?? high;
  const inside = candidates.filter((value) => value >= low && value <= high);
  // Label 1-2-5 when that gives a handful of ticks, else decades only (the rest as grid lines).
  const decades = inside.filter((value) => Number.isInteger(Math.log10(value)));
  const labelled =
    inside.length <= MAX_LOG_LABELS || decades.length < 2
      ? inside
      : inside.filter(
          (value, index) =>
            decades.includes(value) ||
            // An end of the axis, when no decade label is close to it.
            ((index === 0 || index === inside.length - 1) &&
              decades.every((decade) => Math.abs(Math.log10(decade / value)) > 0.5)),
        );
  const ticks = labelled.map((value) => ({ value, label: format(value) }));
  const minor = inside.filter((value) => !labelled.includes(value));
  const logLow = Math.log10(low);
  const logHigh = Math.log10(high);
  return {
    domain: [low, high],
    ticks,
    minor,
    unit: (value) => (Math.log10(Math.max(value, low)) - logLow) / (logHigh - logLow),
  };
}

function scaleFor(axis: AxisSpec, values: readonly number[]): Scale {
  if (axis.kind === 'log') {
    const positive = values.filter((value) => value > 0);
    const min = positive.length > 0 ? Math.min(...positive) : 1;
    const max = positive.length > 0 ? Math.max(...positive) : 10;
    return logScale(min, max, axis.formatTick);
  }
  const all = [...values, ...(axis.include ?? [])];
  const min = all.length > 0 ? Math.min(...all) : 0;
  const max = all.length > 0 ? Math.max(...all) : 1;
  return linearScale(min, max, axis.formatTick);
}

/** Rough width of `text` at `fontSize` in the system sans-serif font. */
function textWidth(text: string, fontSize: number): number {
  return [...text].length * fontSize * 0.58;
}

interface LegendLayout {
  readonly svg: string;
  readonly height: number;
}

function legendLayout(items: readonly LegendItem[], left: number, maxRight: number): LegendLayout {
  const fontSize = 13;
  const lineHeight = 20;
  const swatch = 22;
  let x = left;
  let y = 14;
  const parts: string[] = [];
  for (const item of items) {
    const width = swatch + 6 + textWidth(item.label, fontSize) + 16;
    if (x > left && x + width > maxRight) {
      x = left;
      y += lineHeight;
    }
    const dash = item.dash ? ` stroke-dasharray="${item.dash}"` : '';
    parts.push(
      `<g class="legend-item"><line x1="${round(x)}" y1="${y - 4}" x2="${round(x + swatch)}" y2="${y - 4}" stroke="${item.colour}" stroke-width="3"${dash}/>` +
        `<text x="${round(x + swatch + 6)}" y="${y}" font-size="${fontSize}">${escapeHtml(item.label)}</text></g>`,
    );
    x += width;
  }
  return {
    svg: `<g class="legend">${parts.join('')}</g>`,
    height: items.length === 0 ? 0 : y + 10,
  };
}

/** Renders `spec` as one `<svg>` element. */
export function renderLineChart(spec: ChartSpec): string {
  const width = spec.width ?? 600;
  const height = spec.height ?? 340;
  const left = 68;
  const right = 18;
  const bottom = 46;
  const legend = legendLayout(spec.legend, left, width - right);
  const top = Math.max(legend.height + 10, 16);
  const plotWidth = width - left - right;
  const plotHeight = height - top - bottom;

  const points = spec.series.flatMap((series) => [
    ...series.segments.flat(),
    ...(series.markers ?? []).map((marker) => marker.at),
  ]);
  const empty = points.length === 0;
  const xScale = scaleFor(
    spec.x,
    points.map(([x]) => x),
  );
  const yScale = scaleFor(
    spec.y,
    points.map(([, y]) => y),
  );
  const px = (value: number): number => left + xScale.unit(value) * plotWidth;
  const py = (value: number): number => top + plotHeight - yScale.unit(value) * plotHeight;

  const parts: string[] = [];
  parts.push(
    `<rect class="plot" x="${left}" y="${top}" width="${plotWidth}" height="${plotHeight}" fill="#fff" stroke="#c9ced6"/>`,
  );
  if (!empty) {
    // Grid and ticks.
    for (const value of yScale.minor) {
      const y = round(py(value));
      parts.push(
        `<line class="grid minor" x1="${left}" y1="${y}" x2="${left + plotWidth}" y2="${y}" stroke="#f1f3f6"/>`,
      );
    }
    for (const value of xScale.minor) {
      const x = round(px(value));
      parts.push(
        `<line class="grid minor" x1="${x}" y1="${top}" x2="${x}" y2="${top + plotHeight}" stroke="#f1f3f6"/>`,
      );
    }
    for (const tick of yScale.ticks) {
      const y = round(py(tick.value));
      parts.push(
        `<line class="grid" x1="${left}" y1="${y}" x2="${left + plotWidth}" y2="${y}" stroke="#e6e9ee"/>`,
        `<line x1="${left - 5}" y1="${y}" x2="${left}" y2="${y}" stroke="#5b6472"/>`,
        `<text class="tick" x="${left - 8}" y="${y}" dy="0.32em" text-anchor="end" font-size="12">${escapeHtml(tick.label)}</text>`,
      );
    }
    for (const tick of xScale.ticks) {
      const x = round(px(tick.value));
      parts.push(
        `<line class="grid" x1="${x}" y1="${top}" x2="${x}" y2="${top + plotHeight}" stroke="#eef0f3"/>`,
        `<line x1="${x}" y1="${top + plotHeight}" x2="${x}" y2="${top + plotHeight + 5}" stroke="#5b6472"/>`,
        `<text class="tick" x="${x}" y="${top + plotHeight + 19}" text-anchor="middle" font-size="12">${escapeHtml(tick.label)}</text>`,
      );
    }
    // Series.
    for (const series of spec.series) {
      const d = series.segments
        .filter((segment) => segment.length > 0)
        .map(
          (segment) => `M${segment.map(([x, y]) => `${round(px(x))},${round(py(y))}`).join('L')}`,
        )
        .join('');
      const dash = series.dash ? ` stroke-dasharray="${series.dash}"` : '';
      parts.push(
        `<path class="series" data-series="${escapeHtml(series.key)}" d="${d}" fill="${series.fillOpacity ? series.colour : 'none'}"${series.fillOpacity ? ` fill-opacity="${series.fillOpacity}"` : ''} stroke="${series.colour}" stroke-width="${series.width ?? 2}" stroke-linejoin="round" stroke-linecap="round"${dash}/>`,
      );
      if (series.markers && series.markers.length > 0) {
        parts.push(
          `<g class="markers" data-series="${escapeHtml(series.key)}" fill="${series.colour}">${series.markers
            .map(
              (marker) =>
                `<circle cx="${round(px(marker.at[0]))}" cy="${round(py(marker.at[1]))}" r="${series.markers!.length === 1 ? 4 : 2.2}"><title>${escapeHtml(marker.title)}</title></circle>`,
            )
            .join('')}</g>`,
        );
      }
    }
  } else {
    parts.push(
      `<text class="empty" x="${left + plotWidth / 2}" y="${top + plotHeight / 2}" text-anchor="middle" font-size="14" fill="#5b6472">${escapeHtml(spec.emptyMessage)}</text>`,
    );
  }
  // Axis labels.
  parts.push(
    `<text class="axis-label" x="${left + plotWidth / 2}" y="${height - 8}" text-anchor="middle" font-size="13">${escapeHtml(spec.x.label)}</text>`,
    `<text class="axis-label" transform="translate(14 ${round(top + plotHeight / 2)}) rotate(-90)" text-anchor="middle" font-size="13">${escapeHtml(spec.y.label)}</text>`,
  );
  return (
    `<svg class="chart" data-chart="${escapeHtml(spec.kind)}" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escapeHtml(spec.title)}">` +
    `<title>${escapeHtml(spec.title)}</title>${legend.svg}${parts.join('')}</svg>`
  );
}
