/** How repeated measurements of one quantity agree. */
export interface RepeatSpread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  /** (max − min) ÷ median, in percent. */
  readonly spreadPct: number;
  /** Every measurement, in the order taken. */
  readonly values: readonly number[];
}

/**
 * The median of repeated measurements and how far apart they were. With an even count the
 * median is the lower middle value, so it is always one of the measurements.
 */
export function repeatSpread(values: readonly number[]): RepeatSpread {
  if (values.length === 0) throw new Error('repeatSpread needs at least one value');
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted[Math.floor((sorted.length - 1) / 2)]!;
  const min = sorted[0]!;
  const max = sorted[sorted.length - 1]!;
  return {
    median,
    min,
    max,
    spreadPct: median > 0 ? Math.round(((max - min) / median) * 1000) / 10 : 0,
    values,
  };
}

/** The index of the measurement {@link repeatSpread} reports as the median. */
export function medianIndex(values: readonly number[]): number {
  const { median } = repeatSpread(values);
  return values.indexOf(median);
}
