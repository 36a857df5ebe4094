import { describe, expect, it } from 'vitest';
import { medianIndex, repeatSpread } from './repeat-spread.js';

describe('repeatSpread', () => {
  it('reports the median, the extremes and their spread in percent of the median', () => {
    expect(repeatSpread([110, 90, 100])).toEqual({
      median: 100,
      min: 90,
      max: 110,
      spreadPct: 20,
      values: [110, 90, 100],
    });
  });

  it('takes the lower middle value of an even count, so the median is a measurement', () => {
    expect(repeatSpread([40, 10, 30, 20]).median).toBe(20);
    expect(medianIndex([40, 10, 30, 20])).toBe(3);
  });

  it('has no spread with one measurement, and 0 % when the median is 0', () => {
    expect(repeatSpread([7])).toMatchObject({ median: 7, min: 7, max: 7, spreadPct: 0 });
    expect(repeatSpread([0, 0, 5]).spreadPct).toBe(0);
  });

  it('rounds the spread to 0.1 %', () => {
    expect(repeatSpread([3, 4, 5]).spreadPct).toBe(50);
    expect(repeatSpread([300, 301, 302]).spreadPct).toBe(0.7);
  });

  it('refuses no measurement at all', () => {
    expect(() => repeatSpread([])).toThrow(/at least one value/);
  });
});
