import { medianIndex, repeatSpread, type RepeatSpread } from './repeat-spread.js';
import {
  findSaturation,
  type SaturationResult,
  type SaturationStepResult,
} from './saturation-search.js';

/** One way of loading the system whose saturation is searched for. */
export interface SaturationMode<Step extends SaturationStepResult> {
  /** Runs one step at `writesPerSec`. */
  readonly run: (writesPerSec: number) => Promise<Step>;
  /** Where the first search starts. */
  readonly startWritesPerSec: number;
}

/** A step of a search, with the repeat it belongs to (0-based). */
export type SaturationStep<Step extends SaturationStepResult> = Step & { readonly repeat: number };

/**
 * The saturation of one mode over the repeats: the best step of the median repeat (so its
 * `deliveriesPerSec` is the median), and the best deliveries/s of each repeat.
 */
export type SaturationPoint<Step extends SaturationStepResult> = Step & {
  readonly repeats: RepeatSpread;
};

/** What {@link measureRepeatedSaturation} found for one mode. */
export interface RepeatedSaturation<Step extends SaturationStepResult> {
  readonly point: SaturationPoint<Step>;
  readonly steps: readonly SaturationStep<Step>[];
}

/** Options of {@link measureRepeatedSaturation}. */
export interface RepeatedSaturationOptions {
  readonly repeats: number;
  readonly maxSteps: number;
  /** See {@link findSaturation}. */
  readonly maxTailMs: number;
  /** @default 1.5 */
  readonly factor?: number;
}

/**
 * Searches the saturation of every mode `repeats` times, the modes taking turns (ccs, bare,
 * ccs, bare, …) so that a slow minute of the machine weighs on them alike. The first search of
 * a mode starts at its `startWritesPerSec`; the later ones one step below the first one's best
 * rate, which finds the same plateau in fewer steps.
 */
export async function measureRepeatedSaturation<
  Mode extends string,
  Step extends SaturationStepResult,
>(
  modes: Readonly<Record<Mode, SaturationMode<Step>>>,
  options: RepeatedSaturationOptions,
): Promise<Record<Mode, RepeatedSaturation<Step>>> {
  const factor = options.factor ?? 1.5;
  const names = Object.keys(modes) as Mode[];
  const searches = new Map<Mode, SaturationResult<Step>[]>(names.map((name) => [name, []]));
  for (let repeat = 0; repeat < options.repeats; repeat++) {
    for (const name of names) {
      const done = searches.get(name)!;
      const first = done[0]?.best;
      const search = await findSaturation(modes[name].run, {
        startWritesPerSec: first
          ? Math.max(1, Math.round(first.offeredWritesPerSec / factor))
          : modes[name].startWritesPerSec,
        factor,
        maxSteps: options.maxSteps,
        maxTailMs: options.maxTailMs,
      });
      done.push(search);
    }
  }
  const measured = {} as Record<Mode, RepeatedSaturation<Step>>;
  for (const name of names) {
    const done = searches.get(name)!;
    const bests = done.map((search) => search.best.deliveriesPerSec);
    measured[name] = {
      point: { ...done[medianIndex(bests)]!.best, repeats: repeatSpread(bests) },
      steps: done.flatMap((search, repeat) => search.steps.map((step) => ({ ...step, repeat }))),
    };
  }
  return measured;
}
