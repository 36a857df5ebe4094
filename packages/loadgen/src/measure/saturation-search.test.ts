import { describe, expect, it } from 'vitest';
import { findSaturation, type SaturationStepResult } from './saturation-search.js';

/** A system that delivers 20 changes per write up to `ceiling` deliveries/s. */
function plateau(ceiling: number, overrides: Partial<SaturationStepResult> = {}) {
  const rates: number[] = [];
  const runStep = (writesPerSec: number): Promise<SaturationStepResult> => {
    rates.push(writesPerSec);
    return Promise.resolve({
      offeredWritesPerSec: writesPerSec,
      deliveriesPerSec: Math.min(writesPerSec * 20, ceiling),
      tailMs: 10,
      lost: 0,
      duplicated: 0,
      ...overrides,
    });
  };
  return { rates, runStep };
}

describe('findSaturation', () => {
  it('raises the rate by the factor until deliveries stop growing by 5 %', async () => {
    const system = plateau(70_000);
    const result = await findSaturation(system.runStep, {
      startWritesPerSec: 1000,
      maxTailMs: 2000,
    });
    // 20k, 30k, 45k, 67.5k, then 70k (+3.7 %: stop).
    expect(system.rates).toEqual([1000, 1500, 2250, 3375, 5063]);
    expect(result.steps.map((step) => step.deliveriesPerSec)).toEqual([
      20_000, 30_000, 45_000, 67_500, 70_000,
    ]);
    // The best step is the highest throughput, even from a step that grew too little.
    expect(result.best.offeredWritesPerSec).toBe(5063);
  });

  it('keeps the best step when a later one delivers less', async () => {
    const steps = [30_000, 50_000, 40_000];
    let index = 0;
    const result = await findSaturation(
      (writesPerSec) =>
        Promise.resolve({
          offeredWritesPerSec: writesPerSec,
          deliveriesPerSec: steps[index++]!,
          tailMs: 0,
          lost: 0,
          duplicated: 0,
        }),
      { startWritesPerSec: 100, factor: 2, maxTailMs: 1000 },
    );
    expect(result.steps).toHaveLength(3);
    expect(result.best).toMatchObject({ offeredWritesPerSec: 200, deliveriesPerSec: 50_000 });
  });

  it('stops at a step that falls behind, loses or duplicates deliveries', async () => {
    for (const trouble of [{ tailMs: 5000 }, { lost: 3 }, { duplicated: 1 }]) {
      const system = plateau(1_000_000, trouble);
      const result = await findSaturation(system.runStep, {
        startWritesPerSec: 1000,
        maxTailMs: 2000,
      });
      expect(system.rates, JSON.stringify(trouble)).toEqual([1000]);
      expect(result.best).toMatchObject(trouble);
    }
  });

  it('runs maxSteps steps at most', async () => {
    const system = plateau(Number.POSITIVE_INFINITY);
    const result = await findSaturation(system.runStep, {
      startWritesPerSec: 10,
      maxSteps: 3,
      maxTailMs: 2000,
    });
    expect(system.rates).toEqual([10, 15, 23]);
    expect(result.best.offeredWritesPerSec).toBe(23);
  });
});
