import pg from 'pg';

/** Share of samples per wait event (`CPU` = active and not waiting), largest first. */
export type WaitEventShares = Record<string, number>;

/**
 * Samples what the bench database's active backends are doing (pg_stat_activity) while a load
 * runs, so the report shows where write time goes: on CPU, waiting for WAL to flush, or queued
 * behind a lock (`Lock:object` is the cluster-wide lock NOTIFY takes at commit).
 *   $1  the sampler's own pid, left out
 */
const SAMPLE = `SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU') AS event, count(*)::int AS n
FROM pg_stat_activity
WHERE datname = current_database() AND state = 'active' AND pid <> $1
GROUP BY 1`;

export class WaitEventSampler {
  private counts = new Map<string, number>();
  private samples = 0;
  private timer: NodeJS.Timeout | undefined;
  private inFlight = false;
  private pid = 0;

  private constructor(
    private readonly client: pg.Client,
    private readonly intervalMs: number,
  ) {}

  static async connect(url: string, intervalMs = 100): Promise<WaitEventSampler> {
    const client = new pg.Client({ connectionString: url, application_name: 'ccs-bench-sampler' });
    await client.connect();
    const sampler = new WaitEventSampler(client, intervalMs);
    sampler.pid = (
      await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')
    ).rows[0]!.pid;
    return sampler;
  }

  start(): void {
    this.counts = new Map();
    this.samples = 0;
    this.timer = setInterval(() => void this.sample(), this.intervalMs);
  }

  /** Stops sampling; shares of backend-samples per event, rounded to 0.01. */
  stop(): WaitEventShares {
    clearInterval(this.timer);
    const total = [...this.counts.values()].reduce((sum, n) => sum + n, 0);
    const shares: WaitEventShares = {};
    for (const [event, n] of [...this.counts].sort((a, b) => b[1] - a[1])) {
      shares[event] = Math.round((n / total) * 100) / 100;
    }
    return shares;
  }

  /** Mean number of active backends per sample. */
  get meanActive(): number {
    const total = [...this.counts.values()].reduce((sum, n) => sum + n, 0);
    return this.samples > 0 ? Math.round((total / this.samples) * 100) / 100 : 0;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.client.end();
  }

  private async sample(): Promise<void> {
    if (this.inFlight) return;
    this.inFlight = true;
    try {
      const result = await this.client.query<{ event: string; n: number }>(SAMPLE, [this.pid]);
      this.samples++;
      for (const row of result.rows) {
        this.counts.set(row.event, (this.counts.get(row.event) ?? 0) + row.n);
      }
    } catch {
      // A missed sample only makes the shares coarser.
    } finally {
      this.inFlight = false;
    }
  }
}
