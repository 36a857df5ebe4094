import { readChanges } from '@ccs/db';
import { sql } from 'drizzle-orm';
import type { ChangeEvent, StreamName } from '@ccs/protocol';
import type { RelayDeps } from '../src/gateway.js';
import { SerialQueue } from '../src/serial-queue.js';
import type { AttachResult, RelayAttachment, StreamRelay } from '../src/stream-relay.js';

interface NaiveRow extends Record<string, unknown> {
  naive_id: string;
  stream: StreamName;
  seq: string;
}

/** Adds the global `bigserial` the naive relay tails; only ever run on a test's own database. */
export const NAIVE_RELAY_SETUP_SQL = 'ALTER TABLE change_log ADD COLUMN naive_id bigserial';

/** The changes of the rows found (one query per row: this relay only has to be wrong, not fast). */
async function toEvents(deps: RelayDeps, rows: readonly NaiveRow[]): Promise<ChangeEvent[]> {
  const events = await Promise.all(
    rows.map((row) => readChanges(deps.db, row.stream, Number(row.seq) - 1, 1)),
  );
  return events.flat();
}

/**
 * THE PITFALL, kept only to prove the property test catches it: one global cursor over a
 * `bigserial` read with `naive_id > cursor`. The serial is taken at insert time, not at commit,
 * so a transaction that inserted early and commits late has an id below a cursor that already
 * moved past it: its change is never delivered.
 */
export class NaiveGlobalCursorRelay implements StreamRelay {
  private cursor = 0;
  private readonly subscribers = new Map<StreamName, number>();
  private timer: NodeJS.Timeout | undefined;
  private readonly reads = new SerialQueue();

  constructor(private readonly deps: RelayDeps) {}

  start(): void {
    this.timer = setInterval(() => this.schedule(), 20);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.reads.settled();
  }

  wake(): void {
    this.schedule();
  }

  get trackedStreams(): StreamName[] {
    return [...this.subscribers].filter(([, count]) => count > 0).map(([stream]) => stream);
  }

  /** Serialised with the tailing reads, so only the tailing itself is naive. */
  attach(
    stream: StreamName,
    since: number | undefined,
    replay: (changes: readonly ChangeEvent[]) => void,
    join: () => void,
  ): RelayAttachment {
    this.subscribers.set(stream, (this.subscribers.get(stream) ?? 0) + 1);
    let released = false;
    const subscription = {
      release: () => {
        if (released) return;
        released = true;
        this.subscribers.set(stream, (this.subscribers.get(stream) ?? 1) - 1);
      },
    };
    const attached = this.reads.run(async (): Promise<AttachResult> => {
      const emitted = sql`stream = ${stream} AND naive_id <= ${this.cursor}`;
      const head = await this.deps.db.execute<{ head: string }>(
        sql`SELECT coalesce(max(seq), 0) AS head FROM change_log WHERE ${emitted}`,
      );
      const rows = await this.deps.db.execute<NaiveRow>(
        sql`SELECT naive_id, stream, seq FROM change_log
            WHERE ${emitted} AND seq > ${since ?? 2 ** 53} ORDER BY seq`,
      );
      const events = await toEvents(this.deps, rows.rows);
      if (events.length > 0) replay(events);
      join();
      return { ok: true, head: Number(head.rows[0]?.head ?? 0) };
    });
    return { subscription, result: attached };
  }

  private schedule(): void {
    this.reads.run(() => this.read()).catch(() => undefined);
  }

  private async read(): Promise<void> {
    const { rows } = await this.deps.db.execute<NaiveRow>(
      sql`SELECT naive_id, stream, seq FROM change_log
          WHERE naive_id > ${this.cursor} ORDER BY naive_id LIMIT 500`,
    );
    for (const row of rows) this.cursor = Math.max(this.cursor, Number(row.naive_id));
    const followed = rows.filter((row) => (this.subscribers.get(row.stream) ?? 0) > 0);
    for (const change of await toEvents(this.deps, followed)) {
      this.deps.broadcast(change.stream, [change]);
    }
  }
}
