import { describe, expect, test } from 'vitest';
import {
  rampHoldSpike,
  scheduleDurationMs,
  scheduledCount,
  shareOfSchedule,
} from './rate-schedule.js';

describe('rate schedules', () => {
  const schedule = rampHoldSpike({
    perSec: 100,
    rampMs: 2_000,
    holdMs: 3_000,
    spikePerSec: 400,
    spikeMs: 1_000,
  });

  test('a ramp issues half of what its top rate would, a hold all of it, a spike its own rate', () => {
    expect(scheduleDurationMs(schedule)).toBe(6_000);
    expect(scheduledCount(schedule, 0)).toBe(0);
    expect(scheduledCount(schedule, 1_000)).toBe(25); // ∫₀¹ 50t dt
    expect(scheduledCount(schedule, 2_000)).toBe(100);
    expect(scheduledCount(schedule, 5_000)).toBe(400);
    expect(scheduledCount(schedule, 6_000)).toBe(800);
    expect(scheduledCount(schedule, 60_000)).toBe(800);
  });

  test('the count never goes down as time passes', () => {
    let previous = 0;
    for (let ms = 0; ms <= 6_000; ms += 7) {
      const issued = scheduledCount(schedule, ms);
      expect(issued).toBeGreaterThanOrEqual(previous);
      previous = issued;
    }
  });

  test('steps of length 0 are left out; shares split every rate', () => {
    expect(
      rampHoldSpike({ perSec: 10, rampMs: 0, holdMs: 1_000 }).map((step) => step.name),
    ).toEqual(['hold']);
    const halves = shareOfSchedule(schedule, 0.5);
    expect(scheduledCount(halves, 6_000) * 2).toBe(800);
  });
});
