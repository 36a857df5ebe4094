import type { ChangeEvent, StreamName } from '@ccs/protocol';
import { sql } from 'drizzle-orm';
import { toChangeEvent, type ChangeLogRow } from '../change-event-mapper.js';
import type { Database } from '../database.js';

/** Up to `limit` changes of `stream` with `seq > afterSeq`, in seq order, as the wire shows them. */
export async function readChanges(
  db: Database,
  stream: StreamName,
  afterSeq: number,
  limit: number,
): Promise<ChangeEvent[]> {
  const result = await db.$client.query<ChangeLogRow>({
    name: 'ccs-stream-changes',
    text: 'SELECT * FROM ccs_stream_changes($1, $2, $3)',
    values: [stream, afterSeq, limit],
  });
  return result.rows.map(toChangeEvent);
}

/** Where a stream stands: its newest seq, and the newest seq retention removed. */
export interface StreamPosition {
  readonly head: number;
  /** Changes with `seq <= trimmedTo` may be gone; 0 when retention removed none. */
  readonly trimmedTo: number;
}

/**
 * The committed position of each stream given, in one query; a stream never written is
 * `{ head: 0, trimmedTo: 0 }`.
 */
export async function readStreamPositions(
  db: Database,
  streams: readonly StreamName[],
): Promise<Map<StreamName, StreamPosition>> {
  const positions = new Map<StreamName, StreamPosition>(
    streams.map((stream) => [stream, { head: 0, trimmedTo: 0 }]),
  );
  if (streams.length === 0) return positions;
  const result = await db.execute<{ stream: StreamName; head: string; trimmed_to: string }>(
    sql`SELECT stream, head, trimmed_to FROM stream_heads
        WHERE stream = ANY(${`{${streams.join(',')}}`}::text[])`,
  );
  for (const row of result.rows) {
    positions.set(row.stream, { head: Number(row.head), trimmedTo: Number(row.trimmed_to) });
  }
  return positions;
}

/** The position of one stream; a stream never written is `{ head: 0, trimmedTo: 0 }`. */
export async function readStreamPosition(
  db: Database,
  stream: StreamName,
): Promise<StreamPosition> {
  return (await readStreamPositions(db, [stream])).get(stream)!;
}

/**
 * Retention: removes changes written before `before`, at most `batchSize` per call, and records
 * per stream what was removed. Returns how many rows went; call again while it equals
 * `batchSize`.
 */
export async function trimChangeLog(
  db: Database,
  before: Date,
  batchSize: number,
): Promise<number> {
  const result = await db.execute<{ removed: number }>(
    sql`SELECT ccs_trim_change_log(${before.toISOString()}::timestamptz, ${batchSize}::integer) AS removed`,
  );
  return Number(result.rows[0]?.removed ?? 0);
}
