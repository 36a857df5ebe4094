import os from 'node:os';
import type pg from 'pg';
import { machineBusyCores } from './cpu-sampler.js';

/** Where the numbers were measured. */
export interface MachineInfo {
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryGb: number;
  readonly platform: string;
  readonly node: string;
  readonly postgres: string;
  readonly synchronousCommit: string;
  /** `on`: a change's `committedAt` is its commit time; else its write time. */
  readonly trackCommitTimestamp: string;
  /** Cores busy on the machine just before the run: well above 0 means something else was. */
  readonly busyCoresBeforeStart: number;
  readonly loadAverageAtStart: number;
}

/** Options of {@link waitForQuietMachine}. */
export interface QuietMachineOptions {
  /** Busy cores below which the machine counts as quiet. */
  readonly maxBusyCores: number;
  readonly maxWaitMs: number;
  readonly log: (line: string) => void;
}

/**
 * Waits (up to a limit) until nothing else keeps the CPU busy: on a small machine a concurrent
 * build or test run would be measured as gateway latency. Returns the last busy reading.
 */
export async function waitForQuietMachine(options: QuietMachineOptions): Promise<number> {
  const deadline = performance.now() + options.maxWaitMs;
  for (;;) {
    const busy = await machineBusyCores(1000);
    if (busy <= options.maxBusyCores) return busy;
    if (performance.now() >= deadline) {
      options.log(`machine still busy (${busy.toFixed(2)} cores); running anyway`);
      return busy;
    }
    options.log(`machine busy (${busy.toFixed(2)} cores used by other processes); waiting`);
    await new Promise((resolve) => setTimeout(resolve, 4000));
  }
}

export async function describeMachine(
  pool: pg.Pool,
  before: { readonly busyCores: number; readonly loadAverage: number },
): Promise<MachineInfo> {
  const setting = async (name: string): Promise<string> =>
    (await pool.query<{ value: string }>('SELECT current_setting($1) AS value', [name])).rows[0]
      ?.value ?? 'unknown';
  return {
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    memoryGb: Math.round(os.totalmem() / 2 ** 30),
    platform: `${os.platform()} ${os.release()}`,
    node: process.version,
    postgres: await setting('server_version'),
    synchronousCommit: await setting('synchronous_commit'),
    trackCommitTimestamp: await setting('track_commit_timestamp'),
    busyCoresBeforeStart: Math.round(before.busyCores * 100) / 100,
    loadAverageAtStart: Math.round(before.loadAverage * 100) / 100,
  };
}
