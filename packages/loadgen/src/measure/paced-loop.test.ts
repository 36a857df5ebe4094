import { describe, expect, it } from 'vitest';
import { runPacedLoop } from './paced-loop.js';

/** Keeps the event loop busy for `ms`: a tick of the loop then comes late. */
function blockFor(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // busy: nothing else may run
  }
}

describe('runPacedLoop', () => {
  it('issues rate × duration items in all, spread over the duration', async () => {
    const batches: number[] = [];
    const result = await runPacedLoop({
      ratePerSec: 333,
      durationMs: 150,
      tickMs: 5,
      issue: (count) => batches.push(count),
    });
    expect(result.issued).toBe(50);
    expect(batches.reduce((sum, count) => sum + count, 0)).toBe(50);
    expect(batches.length).toBeGreaterThan(1);
    expect(batches.every((count) => count > 0)).toBe(true);
    // The last item is due at the end of the duration, not before.
    expect(result.elapsedMs).toBeGreaterThanOrEqual(145);
  });

  it('catches up after a late tick instead of lowering the rate', async () => {
    const batches: { count: number; atMs: number }[] = [];
    const start = performance.now();
    const result = await runPacedLoop({
      ratePerSec: 1000,
      durationMs: 300,
      tickMs: 5,
      issue: (count) => {
        batches.push({ count, atMs: performance.now() - start });
        // The first tick holds the loop for 100 ms: 100 items fall due meanwhile.
        if (batches.length === 1) blockFor(100);
      },
    });
    expect(result.issued).toBe(300);
    expect(batches.reduce((sum, batch) => sum + batch.count, 0)).toBe(300);
    const catchUp = batches[1]!;
    expect(catchUp.atMs).toBeGreaterThanOrEqual(100);
    // Everything due by then goes out at once: about 100 items, not one tick's 5, so what was
    // issued matches the schedule (1 item per ms) again.
    expect(catchUp.count).toBeGreaterThanOrEqual(90);
    // The loop had run at least the 100 ms it was held, so at least 100 were due; and never more
    // than the time on this clock, which started first. (A tighter lower bound fails when the
    // OS pauses this process between the loop's clock read and ours, as it does under load.)
    const issuedByThen = batches[0]!.count + catchUp.count;
    expect(issuedByThen).toBeLessThanOrEqual(catchUp.atMs);
    expect(issuedByThen).toBeGreaterThanOrEqual(100);
  });

  it('issues nothing when the schedule has nothing due', async () => {
    const result = await runPacedLoop({ ratePerSec: 0, durationMs: 1000, issue: () => undefined });
    expect(result.issued).toBe(0);
  });
});
