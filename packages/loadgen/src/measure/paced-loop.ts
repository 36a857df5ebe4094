import { setTimeout as sleep } from 'node:timers/promises';

/** Options of {@link runPacedLoop}. */
export interface PacedLoopOptions {
  readonly ratePerSec: number;
  readonly durationMs: number;
  /** How often the loop wakes up to issue what is due. @default 5 */
  readonly tickMs?: number;
  /** Issues `count` items now. Runs synchronously: what it starts may finish later. */
  readonly issue: (count: number) => void;
}

/** What {@link runPacedLoop} issued. */
export interface PacedLoopResult {
  readonly issued: number;
  readonly elapsedMs: number;
}

/**
 * An open-loop load: every tick it issues what the schedule says is due by now
 * (`rate × elapsed − issued`), so a late tick catches up instead of lowering the rate, and a
 * slow system under test shows up as latency rather than as a quietly reduced load.
 */
export async function runPacedLoop(options: PacedLoopOptions): Promise<PacedLoopResult> {
  const total = Math.round((options.ratePerSec * options.durationMs) / 1000);
  const tickMs = options.tickMs ?? 5;
  const start = performance.now();
  let issued = 0;
  while (issued < total) {
    const elapsed = performance.now() - start;
    const due = Math.min(total, Math.floor((options.ratePerSec * elapsed) / 1000)) - issued;
    if (due > 0) {
      options.issue(due);
      issued += due;
    }
    await sleep(tickMs);
  }
  return { issued, elapsedMs: performance.now() - start };
}
