import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { startServerProcess, type ServerProcess } from '@ccs/test-env';
import { Latencies, round, type LatencySummary } from './latency.js';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const MiB = 1024 * 1024;

/**
 * Starts `apps/sync-server/src/main.ts` as its own process, build-free (tsx, source condition):
 * the gateway role, which is what the abuse bench measures (no background jobs beside it).
 */
export function startSyncServerProcess(
  env: Readonly<Record<string, string>>,
): Promise<ServerProcess> {
  return startServerProcess({
    entry: MAIN,
    env: { NODE_OPTIONS: '--import tsx --conditions=@ccs/source', CCS_ROLE: 'gateway', ...env },
    startTimeoutMs: 60_000,
  });
}

/** VmRSS of `pid` in bytes (from /proc/<pid>/status), or undefined once it has exited. */
export async function readRss(pid: number): Promise<number | undefined> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** What {@link RssSampler.stop} reports, in MiB. */
export interface RssSummary {
  readonly startMiB: number | null;
  readonly peakMiB: number | null;
  /** When the peak was seen, ms after sampling started. */
  readonly peakAtMs: number | null;
  readonly finalMiB: number | null;
  readonly samples: number;
  readonly everyMs: number;
  /** Every sample, MiB (one decimal), in order. */
  readonly seriesMiB: readonly number[];
}

/** Samples a process's RSS at a fixed interval. */
export class RssSampler {
  private readonly series: number[] = [];
  private readonly startedAt = performance.now();
  private peak = 0;
  private peakAt = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly pid: number,
    private readonly everyMs = 250,
  ) {
    void this.sample();
    this.timer = setInterval(() => void this.sample(), everyMs);
  }

  private async sample(): Promise<void> {
    const rss = await readRss(this.pid);
    if (rss === undefined) return;
    this.series.push(rss);
    if (rss > this.peak) {
      this.peak = rss;
      this.peakAt = performance.now() - this.startedAt;
    }
  }

  async stop(): Promise<RssSummary> {
    clearInterval(this.timer);
    await this.sample();
    const mib = (bytes: number | undefined): number | null =>
      bytes === undefined ? null : round(bytes / MiB, 1);
    return {
      startMiB: mib(this.series[0]),
      peakMiB: this.series.length ? mib(this.peak) : null,
      peakAtMs: this.series.length ? Math.round(this.peakAt) : null,
      finalMiB: mib(this.series[this.series.length - 1]),
      samples: this.series.length,
      everyMs: this.everyMs,
      seriesMiB: this.series.map((bytes) => round(bytes / MiB, 1)),
    };
  }
}

/** One scrape of `/metrics`: `name{labels}` → value. */
export class MetricsScrape {
  private constructor(private readonly values: ReadonlyMap<string, number>) {}

  static async take(url: string): Promise<MetricsScrape> {
    const response = await fetch(new URL('/metrics', url), { signal: AbortSignal.timeout(5000) });
    const text = await response.text();
    const values = new Map<string, number>();
    for (const line of text.split('\n')) {
      if (line === '' || line.startsWith('#')) continue;
      const space = line.lastIndexOf(' ');
      values.set(line.slice(0, space), Number(line.slice(space + 1)));
    }
    return new MetricsScrape(values);
  }

  /** The value of `name` with exactly these labels (in the order prom-client writes them); 0 when absent. */
  get(name: string, labels: Readonly<Record<string, string>> = {}): number {
    const entries = Object.entries(labels);
    const key = entries.length
      ? `${name}{${entries.map(([label, value]) => `${label}="${value}"`).join(',')}}`
      : name;
    return this.values.get(key) ?? 0;
  }

  /** Every series of `name`, keyed by its label set as written (`{code="…"}`). */
  series(name: string): Record<string, number> {
    const found: Record<string, number> = {};
    for (const [key, value] of this.values) {
      if (key === name || key.startsWith(`${name}{`)) found[key.slice(name.length) || '{}'] = value;
    }
    return found;
  }
}

/** The server's event-loop delay over a window (prom-client resets its histogram at each scrape). */
export interface EventLoopLag {
  readonly meanMs: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

/** Reads the event-loop delay recorded since the previous scrape (`nodejs_eventloop_lag_*`). */
export function eventLoopLag(scrape: MetricsScrape): EventLoopLag {
  const ms = (name: string): number => round(scrape.get(name) * 1000, 2);
  return {
    meanMs: ms('nodejs_eventloop_lag_mean_seconds'),
    p50Ms: ms('nodejs_eventloop_lag_p50_seconds'),
    p99Ms: ms('nodejs_eventloop_lag_p99_seconds'),
    maxMs: ms('nodejs_eventloop_lag_max_seconds'),
  };
}

/** What the server did over a run's window, from two scrapes of its `/metrics`. */
export interface ServerLoad {
  readonly eventLoopLag: EventLoopLag;
  /** Server CPU (process_cpu_seconds_total) over the window ÷ its length. */
  readonly serverCpuCores: number;
  /** The relay's reads of change_log per second (`ccs_relay_read_seconds_count`). */
  readonly relayReadsPerSec: number;
}

/** The {@link ServerLoad} between the scrapes `before` and `after`, `windowSeconds` apart. */
export function serverLoad(
  before: MetricsScrape,
  after: MetricsScrape,
  windowSeconds: number,
): ServerLoad {
  const perSecond = (name: string): number => (after.get(name) - before.get(name)) / windowSeconds;
  return {
    eventLoopLag: eventLoopLag(after),
    serverCpuCores: round(perSecond('process_cpu_seconds_total'), 2),
    relayReadsPerSec: round(perSecond('ccs_relay_read_seconds_count'), 1),
  };
}

/** What {@link ReadyzPoller.stop} reports. */
export interface ReadyzSummary {
  readonly polls: number;
  readonly non200: number;
  /** Non-200 answers by status, and `error` for requests that failed or timed out (3 s). */
  readonly byStatus: Readonly<Record<string, number>>;
  readonly latency: LatencySummary;
  /** The first non-200 body seen, for evidence. */
  readonly firstFailure: string | null;
}

/** Polls `/readyz` every `everyMs`, one request at a time. */
export class ReadyzPoller {
  private stopped = false;
  private polls = 0;
  private non200 = 0;
  private readonly byStatus: Record<string, number> = {};
  private readonly latency = new Latencies();
  private firstFailure: string | null = null;
  private readonly loop: Promise<void>;

  constructor(
    private readonly url: string,
    private readonly everyMs = 100,
  ) {
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const start = performance.now();
      let status: string;
      let body = '';
      try {
        const response = await fetch(new URL('/readyz', this.url), {
          signal: AbortSignal.timeout(3000),
        });
        body = await response.text();
        status = String(response.status);
      } catch (error) {
        status = 'error';
        body = (error as Error).message;
      }
      const elapsed = performance.now() - start;
      this.polls++;
      this.latency.recordMs(elapsed);
      if (status !== '200') {
        this.non200++;
        this.byStatus[status] = (this.byStatus[status] ?? 0) + 1;
        this.firstFailure ??= `${status} ${body.slice(0, 300)}`;
      }
      await sleep(Math.max(0, this.everyMs - elapsed));
    }
  }

  async stop(): Promise<ReadyzSummary> {
    this.stopped = true;
    await this.loop;
    return {
      polls: this.polls,
      non200: this.non200,
      byStatus: this.byStatus,
      latency: this.latency.summary(),
      firstFailure: this.firstFailure,
    };
  }
}

/** What the server process printed at warn level or above (pino levels ≥ 40), and whether it died. */
export interface ServerHealth {
  /** Set when the process exited before the bench stopped it: its code or signal. */
  readonly exitedEarly: string | null;
  readonly warnLines: number;
  readonly errorLines: number;
  /** The first few warn/error messages (`msg`, with `err.type` when present). */
  readonly samples: readonly string[];
}

/** Reads the server's log lines from `from` on. */
export function serverHealth(server: ServerProcess, from: number): ServerHealth {
  let warnLines = 0;
  let errorLines = 0;
  const samples: string[] = [];
  for (const line of server.output.slice(from)) {
    if (!line.startsWith('{')) {
      if (/error/i.test(line)) {
        errorLines++;
        if (samples.length < 5) samples.push(line.slice(0, 300));
      }
      continue;
    }
    let entry: { level?: unknown; msg?: unknown; err?: { type?: unknown } };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      continue;
    }
    const level = typeof entry.level === 'number' ? entry.level : 0;
    if (level < 40) continue;
    if (level >= 50) errorLines++;
    else warnLines++;
    if (samples.length < 5) {
      const type = typeof entry.err?.type === 'string' ? ` (${entry.err.type})` : '';
      samples.push(`${level >= 50 ? 'error' : 'warn'}: ${String(entry.msg)}${type}`);
    }
  }
  const { exitCode, signalCode } = server.child;
  return {
    exitedEarly: exitCode !== null || signalCode !== null ? String(signalCode ?? exitCode) : null,
    warnLines,
    errorLines,
    samples,
  };
}
