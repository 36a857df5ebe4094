import { describe, expect, it } from 'vitest';
import { decodeBody, encodeBody, nowMicros } from './message-body.js';

describe('encodeBody / decodeBody', () => {
  it('round-trips the phase and send time in a body of exactly the size asked', () => {
    const stamp = { phase: 12, sentAtMicros: 1_765_432_109_876_543 };
    const body = encodeBody(stamp, 200);
    expect(body).toHaveLength(200);
    expect(body.startsWith('bench|12|1765432109876543|')).toBe(true);
    expect(decodeBody(body)).toEqual(stamp);
  });

  it('keeps the whole stamp when the size asked is smaller than it', () => {
    const stamp = { phase: 3, sentAtMicros: nowMicros() };
    expect(decodeBody(encodeBody(stamp, 4))).toEqual(stamp);
  });

  it('returns undefined for bodies it did not write', () => {
    for (const body of [
      '',
      'hello',
      'bench|',
      'bench|1',
      'bench|1|2',
      'bench|x|2|',
      'bench|1|1.5|',
      'bench|1|99999999999999999999|',
      'BENCH|1|2|',
      ' bench|1|2|',
    ]) {
      expect(decodeBody(body), body).toBeUndefined();
    }
  });
});

describe('nowMicros', () => {
  it('is the wall clock in µs, never going back', () => {
    const first = nowMicros();
    const second = nowMicros();
    expect(second).toBeGreaterThanOrEqual(first);
    expect(Math.abs(first / 1000 - Date.now())).toBeLessThan(1000);
  });
});
