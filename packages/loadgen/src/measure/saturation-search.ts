/** What the saturation search reads of a step; a load phase's result has more. */
export interface SaturationStepResult {
  /** The write rate the step was run at. */
  readonly offeredWritesPerSec: number;
  readonly deliveriesPerSec: number;
  /** From the last write to the last delivery, ms. */
  readonly tailMs: number;
  readonly lost: number;
  readonly duplicated: number;
}

/** Options of {@link findSaturation}. */
export interface SaturationSearchOptions {
  readonly startWritesPerSec: number;
  /** @default 1.5 */
  readonly factor?: number;
  /** Stop once a step grows deliveries/s by less than this fraction of the best so far. @default 0.05 */
  readonly minGrowth?: number;
  /** @default 8 */
  readonly maxSteps?: number;
  /**
   * A step whose last delivery trails its last write by more than this is past saturation: a
   * higher rate would only grow the backlog (and the run time), so the search stops there.
   */
  readonly maxTailMs: number;
}

/** The best step and every step run. */
export interface SaturationResult<Step extends SaturationStepResult> {
  readonly best: Step;
  readonly steps: readonly Step[];
}

/**
 * Raises the write rate step by step until delivered changes per second stop growing: the
 * best step is the saturation throughput. A step that falls far behind (`maxTailMs`) or that
 * loses or duplicates deliveries ends the search too.
 */
export async function findSaturation<Step extends SaturationStepResult>(
  runStep: (writesPerSec: number) => Promise<Step>,
  options: SaturationSearchOptions,
): Promise<SaturationResult<Step>> {
  const factor = options.factor ?? 1.5;
  const minGrowth = options.minGrowth ?? 0.05;
  const maxSteps = options.maxSteps ?? 8;
  const steps: Step[] = [];
  let best: Step | undefined;
  let rate = options.startWritesPerSec;
  for (let i = 0; i < maxSteps; i++) {
    const step = await runStep(Math.round(rate));
    steps.push(step);
    const grew = !best || step.deliveriesPerSec >= best.deliveriesPerSec * (1 + minGrowth);
    if (!best || step.deliveriesPerSec > best.deliveriesPerSec) best = step;
    const behind = step.tailMs > options.maxTailMs;
    if (!grew || behind || step.lost !== 0 || step.duplicated !== 0) break;
    rate *= factor;
  }
  if (!best) throw new RangeError(`findSaturation: maxSteps must be at least 1, got ${maxSteps}`);
  return { best, steps };
}
