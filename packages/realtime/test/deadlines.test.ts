import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Deadlines } from '../src/at-time.js';

describe('Deadlines', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('calls each item at its own time, never before, and never a removed one', () => {
    const due: Array<[string, number]> = [];
    const deadlines = new Deadlines<string>((item) => due.push([item, Date.now()]));
    deadlines.add('late', 1_003_000);
    deadlines.add('early', 1_001_000);
    deadlines.add('early-too', 1_001_000);
    deadlines.add('removed', 1_002_000);
    deadlines.remove('removed', 1_002_000);
    vi.advanceTimersByTime(999);
    expect(due).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(due).toEqual([
      ['early', 1_001_000],
      ['early-too', 1_001_000],
    ]);
    vi.advanceTimersByTime(2_000);
    expect(due.at(-1)).toEqual(['late', 1_003_000]);
    expect(due).toHaveLength(3);
    deadlines.close();
  });

  it('calls a past item on the next turn, not synchronously, and waits beyond the timer limit', () => {
    const due: string[] = [];
    const deadlines = new Deadlines<string>((item) => due.push(item));
    deadlines.add('past', 500);
    deadlines.add('far', 1_000_000 + 40 * 24 * 3600 * 1000);
    expect(due).toEqual([]);
    vi.advanceTimersByTime(0);
    expect(due).toEqual(['past']);
    vi.advanceTimersByTime(30 * 24 * 3600 * 1000);
    expect(due).toEqual(['past']);
    vi.advanceTimersByTime(10 * 24 * 3600 * 1000);
    expect(due).toEqual(['past', 'far']);
    deadlines.close();
  });

  it('forgets everything on close', () => {
    const due: string[] = [];
    const deadlines = new Deadlines<string>((item) => due.push(item));
    deadlines.add('a', 1_001_000);
    deadlines.close();
    vi.advanceTimersByTime(5_000);
    expect(due).toEqual([]);
  });
});
