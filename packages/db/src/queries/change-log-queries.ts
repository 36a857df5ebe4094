import { and, asc, eq, gt, inArray } from 'drizzle-orm';
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
