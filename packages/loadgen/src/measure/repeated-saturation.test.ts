import { describe, expect, it } from 'vitest';
import { measureRepeatedSaturation, type SaturationMode } from './repeated-saturation.js';
import type { SaturationStepResult } from './saturation-search.js';

interface Step extends SaturationStepResult {
  readonly mode: string;
}

/**
 * A mode whose plateau differs per search (the n-th search it runs tops out at `ceilings[n]`),
 * recording every call in `calls`.
 */
function modeWith(
  name: string,
  ceilings: readonly number[],
  calls: string[],
): SaturationMode<Step> & { readonly searches: number[][] } {
  const searches: number[][] = [];
  let lastRate = Number.POSITIVE_INFINITY;
  return {
    searches,
    startWritesPerSec: 1000,
    run: (writesPerSec) => {
      // A rate not above the previous one starts a new search.
      if (writesPerSec <= lastRate) searches.push([]);
      lastRate = writesPerSec;
      searches.at(-1)!.push(writesPerSec);
      calls.push(name);
      const ceiling = ceilings[searches.length - 1]!;
      return Promise.resolve({
        mode: name,
        offeredWritesPerSec: writesPerSec,
        deliveriesPerSec: Math.min(writesPerSec * 10, ceiling),
        tailMs: 0,
        lost: 0,
        duplicated: 0,
      });
    },
  };
}

describe('measureRepeatedSaturation', () => {
  it('lets the modes take turns, one search each per repeat', async () => {
    const calls: string[] = [];
    const ccs = modeWith('ccs', [20_000, 20_000], calls);
    const bare = modeWith('bare', [40_000, 40_000], calls);
    await measureRepeatedSaturation({ ccs, bare }, { repeats: 2, maxSteps: 8, maxTailMs: 1000 });
    const turns = calls.filter((name, index) => name !== calls[index - 1]);
    expect(turns).toEqual(['ccs', 'bare', 'ccs', 'bare']);
    expect(ccs.searches).toHaveLength(2);
    expect(bare.searches).toHaveLength(2);
  });

  it('starts later searches one step below the first search’s best rate', async () => {
    const calls: string[] = [];
    const ccs = modeWith('ccs', [33_750, 33_750, 33_750], calls);
    await measureRepeatedSaturation({ ccs }, { repeats: 3, maxSteps: 8, maxTailMs: 1000 });
    // 3375 reaches the plateau, 5063 does not grow: the best is 3375 (the first to reach it),
    // and one step below it is 2250.
    expect(ccs.searches[0]).toEqual([1000, 1500, 2250, 3375, 5063]);
    expect(ccs.searches[1]![0]).toBe(2250);
    expect(ccs.searches[2]![0]).toBe(2250);
  });

  it('reports the best step of the median search, every best, and every step by repeat', async () => {
    const calls: string[] = [];
    const ccs = modeWith('ccs', [30_000, 50_000, 40_000], calls);
    const measured = await measureRepeatedSaturation(
      { ccs },
      { repeats: 3, maxSteps: 8, maxTailMs: 1000 },
    );
    const { point, steps } = measured.ccs;
    expect(point.repeats).toEqual({
      median: 40_000,
      min: 30_000,
      max: 50_000,
      spreadPct: 50,
      values: [30_000, 50_000, 40_000],
    });
    expect(point.deliveriesPerSec).toBe(40_000);
    expect(point.mode).toBe('ccs');
    expect(steps).toHaveLength(ccs.searches.flat().length);
    expect(steps.map((step) => step.repeat)).toEqual(
      ccs.searches.flatMap((rates, repeat) => rates.map(() => repeat)),
    );
  });
});
