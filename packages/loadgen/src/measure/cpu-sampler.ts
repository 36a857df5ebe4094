import { readdir, readFile } from 'node:fs/promises';

/** Linux `USER_HZ`: the unit of utime/stime in /proc/<pid>/stat. */
const CLOCK_TICKS_PER_SEC = 100;

/** Named groups of processes, by pid, or every `postgres` process on the machine. */
export type ProcessGroups = Readonly<Record<string, readonly number[] | 'postgres'>>;

/** Cores used per group over a window (1 = one core busy the whole time). */
export type CpuUsage = Record<string, number>;

/** utime + stime of a process, in clock ticks; undefined once it has ended. */
async function cpuTicks(pid: number): Promise<number | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return undefined;
  }
}

/** Busy and total CPU time of the whole machine, in clock ticks (first line of /proc/stat). */
async function machineTicks(): Promise<{ busy: number; total: number }> {
  try {
    const line = (await readFile('/proc/stat', 'utf8')).split('\n', 1)[0]!;
    const values = line.trim().split(/\s+/).slice(1, 9).map(Number);
    const total = values.reduce((sum, value) => sum + value, 0);
    const idle = (values[3] ?? 0) + (values[4] ?? 0);
    return { busy: total - idle, total };
  } catch {
    return { busy: 0, total: 0 };
  }
}

/** Cores busy on the whole machine over the next `windowMs`. */
export async function machineBusyCores(windowMs: number): Promise<number> {
  const before = await machineTicks();
  const start = performance.now();
  await new Promise((resolve) => setTimeout(resolve, windowMs));
  const after = await machineTicks();
  return (after.busy - before.busy) / CLOCK_TICKS_PER_SEC / ((performance.now() - start) / 1000);
}

async function postgresPids(): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const comm = await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '');
    if (comm.trim() === 'postgres') pids.push(pid);
  }
  return pids;
}

function toCores(ticks: number, seconds: number): number {
  return seconds > 0 ? Math.round((ticks / CLOCK_TICKS_PER_SEC / seconds) * 1000) / 1000 : 0;
}

/**
 * Where the machine's CPU goes during a phase: the gateway, the clients, the load generator and
 * PostgreSQL (every `postgres` process on the machine, so other activity on the server counts
 * too), and `other`: whatever else kept the machine busy, which makes a phase's numbers
 * suspect when it is well above 0. A process that starts during the window counts from zero; one
 * that ends is left out. Linux only; elsewhere every group reads 0.
 */
export class CpuSampler {
  private startTicks = new Map<number, number>();
  private startMachine = { busy: 0, total: 0 };
  private startedAt = 0;
  private readonly postgres = new Set<number>();

  constructor(private readonly groups: ProcessGroups) {}

  async start(): Promise<void> {
    this.startTicks = await this.sample();
    this.startMachine = await machineTicks();
    this.startedAt = performance.now();
  }

  async stop(): Promise<CpuUsage> {
    const seconds = (performance.now() - this.startedAt) / 1000;
    const end = await this.sample();
    const endMachine = await machineTicks();
    const usage: CpuUsage = {};
    let accounted = 0;
    for (const [group, members] of Object.entries(this.groups)) {
      const pids = members === 'postgres' ? [...this.postgres] : members;
      let ticks = 0;
      for (const pid of pids) {
        const last = end.get(pid);
        if (last !== undefined) ticks += last - (this.startTicks.get(pid) ?? 0);
      }
      accounted += ticks;
      usage[group] = toCores(ticks, seconds);
    }
    usage['other'] = toCores(
      Math.max(0, endMachine.busy - this.startMachine.busy - accounted),
      seconds,
    );
    return usage;
  }

  private async sample(): Promise<Map<number, number>> {
    const pids = new Set<number>();
    for (const members of Object.values(this.groups)) {
      if (members !== 'postgres') for (const pid of members) pids.add(pid);
      else for (const pid of await postgresPids()) this.postgres.add(pid);
    }
    for (const pid of this.postgres) pids.add(pid);
    const ticks = new Map<number, number>();
    await Promise.all(
      [...pids].map(async (pid) => {
        const value = await cpuTicks(pid);
        if (value !== undefined) ticks.set(pid, value);
      }),
    );
    return ticks;
  }
}
