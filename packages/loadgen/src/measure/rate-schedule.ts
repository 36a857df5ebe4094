import type { RateStep } from '../clients/load-client-calls.js';

/** Total length of a schedule, ms. */
export function scheduleDurationMs(schedule: readonly RateStep[]): number {
  return schedule.reduce((total, step) => total + step.durationMs, 0);
}

/**
 * How many items an open-loop load following `schedule` has issued by `elapsedMs`: the integral
 * of its rate (each step goes linearly from `fromPerSec` to `toPerSec`), rounded down. A ramp
 * is a step from 0 to the rate, a hold keeps it, a spike jumps to a higher one.
 */
export function scheduledCount(schedule: readonly RateStep[], elapsedMs: number): number {
  let total = 0;
  let start = 0;
  for (const step of schedule) {
    if (elapsedMs <= start) break;
    const within = Math.min(elapsedMs - start, step.durationMs);
    const slope = step.durationMs > 0 ? (step.toPerSec - step.fromPerSec) / step.durationMs : 0;
    // ∫₀^within (from + slope·t) dt, rate per second, t in ms.
    total += (step.fromPerSec * within + (slope * within * within) / 2) / 1000;
    start += step.durationMs;
  }
  return Math.floor(total + 1e-9);
}

/** `schedule` with every rate multiplied by `share` (a client process's part of the load). */
export function shareOfSchedule(schedule: readonly RateStep[], share: number): RateStep[] {
  return schedule.map((step) => ({
    ...step,
    fromPerSec: step.fromPerSec * share,
    toPerSec: step.toPerSec * share,
  }));
}

/**
 * The usual shape: a ramp from 0 to `perSec`, a hold at it, then an optional spike at
 * `spikePerSec`. Steps of length 0 are left out.
 */
export function rampHoldSpike(options: {
  readonly perSec: number;
  readonly rampMs: number;
  readonly holdMs: number;
  readonly spikePerSec?: number;
  readonly spikeMs?: number;
}): RateStep[] {
  const steps: RateStep[] = [
    { name: 'ramp', durationMs: options.rampMs, fromPerSec: 0, toPerSec: options.perSec },
    {
      name: 'hold',
      durationMs: options.holdMs,
      fromPerSec: options.perSec,
      toPerSec: options.perSec,
    },
  ];
  if (options.spikePerSec !== undefined && options.spikeMs) {
    steps.push({
      name: 'spike',
      durationMs: options.spikeMs,
      fromPerSec: options.spikePerSec,
      toPerSec: options.spikePerSec,
    });
  }
  return steps.filter((step) => step.durationMs > 0);
}
