import { and, asc, eq, gt, inArray, sql } from 'drizzle-orm';
import type { Database } from '../database.js';
import { changeLog, streamHeads } from '../schema/index.js';

/** A change as read back from change_log. */
export interface ChangeRow {
  readonly stream: string;
  readonly seq: number;
  readonly kind: string;
  readonly payload: unknown;
  readonly committedAt: Date;
}

/** Up to `limit` changes of `stream` with `seq > afterSeq`, in seq order. */
export async function readChanges(
  db: Database,
  stream: string,
  afterSeq: number,
  limit: number,
): Promise<ChangeRow[]> {
  return db
    .select({
      stream: changeLog.stream,
      seq: changeLog.seq,
      kind: changeLog.kind,
      payload: changeLog.payload,
      committedAt: changeLog.committedAt,
    })
    .from(changeLog)
    .where(and(eq(changeLog.stream, stream), gt(changeLog.seq, afterSeq)))
    .orderBy(asc(changeLog.seq))
    .limit(limit);
}

/** The committed head of each stream given; a stream never written has head 0. */
export async function readStreamHeads(
  db: Database,
  streams: readonly string[],
): Promise<Map<string, number>> {
  const heads = new Map<string, number>(streams.map((stream) => [stream, 0]));
  if (streams.length === 0) return heads;
  const rows = await db
    .select()
    .from(streamHeads)
    .where(inArray(streamHeads.stream, [...streams]));
  for (const row of rows) heads.set(row.stream, row.head);
  return heads;
}

/** Where a stream stands: its newest seq, and the newest seq retention removed. */
export interface StreamPosition {
  readonly head: number;
  /** Changes with `seq <= trimmedTo` may be gone; 0 when retention removed none. */
  readonly trimmedTo: number;
}

/** The position of one stream; a stream never written is `{ head: 0, trimmedTo: 0 }`. */
export async function readStreamPosition(db: Database, stream: string): Promise<StreamPosition> {
  const [row] = await db
    .select({ head: streamHeads.head, trimmedTo: streamHeads.trimmedTo })
    .from(streamHeads)
    .where(eq(streamHeads.stream, stream));
  return row ?? { head: 0, trimmedTo: 0 };
}

/**
 * Retention: removes changes committed before `before`, at most `batchSize` per call, and records
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
