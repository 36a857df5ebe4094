import { setTimeout as sleep } from 'node:timers/promises';
import { EVENTS, type StreamName } from '@ccs/protocol';
import type pg from 'pg';
import { Latencies, round, type LatencySummary } from './latency.js';
import type { CcsSocket } from './sockets.js';

/** What one normal subscriber (a socket.io-client socket that reads everything) got. */
export interface SubscriberDelivery {
  readonly received: number;
  readonly expected: number;
  readonly missing: number;
  readonly duplicates: number;
  readonly outOfOrder: number;
  /** Received exactly head+1 … head+expected, each once, in order. */
  readonly complete: boolean;
  readonly resyncRequired: number;
  readonly disconnected: string | null;
}

/** What {@link writeMessages} did. */
export interface WriterResult {
  readonly planned: number;
  readonly committed: number;
  readonly errors: number;
  readonly firstError: string | null;
  readonly achievedPerSec: number;
  /** INSERT issued → committed. */
  readonly commit: LatencySummary;
}

const INSERT_MESSAGE = {
  name: 'abuse_bench_insert_message',
  text: `INSERT INTO messages (conversation_id, author_id, device_id, client_id, body)
VALUES ($1, $2, $3, $4, $5)`,
};

/** A socket.io-client subscriber that reads everything and checks what it got. */
export class NormalSubscriber {
  head = 0;
  lastSeq = 0;
  readonly latency = new Latencies();
  private received = 0;
  private duplicates = 0;
  private outOfOrder = 0;
  private readonly seen = new Set<number>();
  private resyncs = 0;
  private disconnected: string | null = null;

  constructor(readonly socket: CcsSocket) {
    socket.on(EVENTS.changes, (frame) => {
      const now = Date.now();
      for (const change of frame) {
        this.received++;
        this.latency.recordMs(now - Date.parse(change.committedAt));
        if (this.seen.has(change.seq)) this.duplicates++;
        else if (change.seq < this.lastSeq) this.outOfOrder++;
        this.seen.add(change.seq);
        this.lastSeq = Math.max(this.lastSeq, change.seq);
      }
    });
    socket.on(EVENTS.resyncRequired, () => this.resyncs++);
    socket.on('disconnect', (reason) => (this.disconnected = reason));
  }

  delivery(head: number): SubscriberDelivery {
    const expected = head - this.head;
    let missing = 0;
    for (let seq = this.head + 1; seq <= head; seq++) if (!this.seen.has(seq)) missing++;
    return {
      received: this.received,
      expected,
      missing,
      duplicates: this.duplicates,
      outOfOrder: this.outOfOrder,
      complete:
        missing === 0 &&
        this.duplicates === 0 &&
        this.outOfOrder === 0 &&
        this.received === expected,
      resyncRequired: this.resyncs,
      disconnected: this.disconnected,
    };
  }
}

export async function streamHead(pool: pg.Pool, stream: StreamName): Promise<number> {
  const result = await pool.query<{ head: string }>(
    'SELECT head FROM stream_heads WHERE stream = $1',
    [stream],
  );
  return Number(result.rows[0]?.head ?? 0);
}

/** Inserts messages straight into PostgreSQL at a steady rate (each its own transaction). */
export async function writeMessages(
  pool: pg.Pool,
  load: {
    readonly conversationId: string;
    readonly authorId: string;
    readonly deviceId: string;
    readonly perSec: number;
    readonly durationMs: number;
    readonly bodyChars: number;
  },
): Promise<WriterResult> {
  const filler = 'abcdefghijklmnopqrstuvwxyz0123456789 '.repeat(Math.ceil(load.bodyChars / 37) + 1);
  const planned = Math.round((load.perSec * load.durationMs) / 1000);
  const commit = new Latencies();
  const inFlight = new Set<Promise<void>>();
  let issued = 0;
  let committed = 0;
  let errors = 0;
  let firstError: string | null = null;
  const start = performance.now();
  let lastCommit = start;
  while (issued < planned) {
    const due = Math.min(
      planned,
      Math.floor(((performance.now() - start) * load.perSec) / 1000) + 1,
    );
    for (; issued < due; issued++) {
      const prefix = `${issued} `;
      const body = prefix + filler.slice(0, load.bodyChars - prefix.length);
      const issuedAt = performance.now();
      const write = pool
        .query({
          ...INSERT_MESSAGE,
          values: [load.conversationId, load.authorId, load.deviceId, `w${issued}`, body],
        })
        .then(
          () => {
            committed++;
            lastCommit = performance.now();
            commit.recordMs(lastCommit - issuedAt);
          },
          (error: unknown) => {
            errors++;
            firstError ??= (error as Error).message;
          },
        )
        .finally(() => inFlight.delete(write));
      inFlight.add(write);
    }
    await sleep(5);
  }
  while (inFlight.size > 0) await Promise.all(inFlight);
  return {
    planned,
    committed,
    errors,
    firstError,
    achievedPerSec: round((committed / Math.max(1, lastCommit - start)) * 1000, 1),
    commit: commit.summary(),
  };
}
