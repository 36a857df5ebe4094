import { sql } from 'drizzle-orm';
import {
  bigint,
  customType,
  index,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uuid,
} from 'drizzle-orm/pg-core';

/**
 * PostgreSQL `xid8`: the writing transaction. The relay's tail reads changes by it (which
 * transactions have finished since the last read), so it is indexed.
 */
const xid8 = customType<{ data: string; driverData: string }>({ dataType: () => 'xid8' });

/**
 * The head (last seq) of every stream. The capture trigger increments it in the writing
 * transaction: the row lock serialises writers of one stream, so seq is dense and in commit order.
 */
export const streamHeads = pgTable('stream_heads', {
  stream: text('stream').primaryKey(),
  head: bigint('head', { mode: 'number' }).notNull(),
  /** Every change with `seq <= trimmed_to` was removed by retention; 0 when none was. */
  trimmedTo: bigint('trimmed_to', { mode: 'number' }).notNull().default(0),
});

/** Every committed change of every synced table, per stream, written only by triggers. */
export const changeLog = pgTable(
  'change_log',
  {
    stream: text('stream').notNull(),
    seq: bigint('seq', { mode: 'number' }).notNull(),
    kind: text('kind').notNull(),
    /**
     * `id` of the changed row when it has one. Not indexed: a random uuid index cost writers
     * 6–10 %; a send retry finds its change by stream, newest first (see insertMessage).
     */
    entityId: uuid('entity_id'),
    /** The row as `to_jsonb` wrote it (snake_case keys); `@ccs/db` maps it to the wire shape. */
    payload: jsonb('payload').notNull(),
    /** When the trigger ran, inside the writing transaction (the commit comes later). */
    writtenAt: timestamp('written_at', { withTimezone: true })
      .notNull()
      .default(sql`clock_timestamp()`),
    xid: xid8('xid')
      .notNull()
      .default(sql`pg_current_xact_id()`),
  },
  (table) => [
    primaryKey({ columns: [table.stream, table.seq] }),
    // BRIN: retention scans by time, and a BRIN index costs writers almost nothing.
    index('change_log_written_at_idx').using('brin', table.writtenAt),
    index('change_log_xid_idx').on(table.xid),
  ],
);
