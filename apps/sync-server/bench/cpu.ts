import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import type pg from 'pg';
import { round } from './latency.js';

interface StatTicks {
  readonly busy: number;
  readonly total: number;
}

async function readStat(): Promise<StatTicks> {
  const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0]!;
  const ticks = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0); // idle + iowait
  return { busy: ticks.reduce((a, b) => a + b, 0) - idle, total: ticks.reduce((a, b) => a + b, 0) };
}

/** Cores the whole machine kept busy (every process: server, PostgreSQL, bench, anything else). */
export class MachineCpu {
  private constructor(private readonly first: StatTicks) {}

  static async start(): Promise<MachineCpu> {
    return new MachineCpu(await readStat());
  }

  async busyCores(): Promise<number> {
    const now = await readStat();
    const share = (now.busy - this.first.busy) / Math.max(1, now.total - this.first.total);
    return round(share * os.cpus().length, 2);
  }
}

/** CPU this process used since `start` (from process.cpuUsage), in cores over `ms`. */
export function processCores(start: NodeJS.CpuUsage, ms: number): number {
  const used = process.cpuUsage(start);
  return round((used.user + used.system) / 1000 / Math.max(1, ms), 2);
}

/** Clock ticks per second of /proc/<pid>/stat times. */
const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** utime + stime of `pid` in seconds, or undefined once it has exited. */
async function processSeconds(pid: number): Promise<number | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After the command: state is field 3, utime 14, stime 15 (1-based), so 11 and 12 here.
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  } catch {
    return undefined;
  }
}

/**
 * CPU of the PostgreSQL backends serving the bench database (the server's pools, the writer):
 * backends that connect during the window count from 0; ones that leave it are missed.
 */
export class PostgresCpu {
  private constructor(
    private readonly pool: pg.Pool,
    private readonly first: ReadonlyMap<number, number>,
    private readonly startedAt: number,
  ) {}

  static async start(pool: pg.Pool): Promise<PostgresCpu> {
    return new PostgresCpu(pool, await backendSeconds(pool), performance.now());
  }

  async cores(): Promise<number> {
    const now = await backendSeconds(this.pool);
    let seconds = 0;
    for (const [pid, used] of now) seconds += used - (this.first.get(pid) ?? 0);
    return round(seconds / ((performance.now() - this.startedAt) / 1000), 2);
  }
}

async function backendSeconds(pool: pg.Pool): Promise<Map<number, number>> {
  const { rows } = await pool.query<{ pid: number }>(
    'SELECT pid FROM pg_stat_activity WHERE datname = current_database()',
  );
  const seconds = new Map<number, number>();
  for (const { pid } of rows) {
    const used = await processSeconds(pid);
    if (used !== undefined) seconds.set(pid, used);
  }
  return seconds;
}
