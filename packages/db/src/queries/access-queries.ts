import { parseStreamName, type StreamName } from '@ccs/protocol';
import { sql } from 'drizzle-orm';
import type { Database } from '../database.js';
import { CONTAINERS } from './write-context.js';

/** Whether a user may read a stream, and the stream's head, as of one snapshot. */
export interface StreamAccess {
  readonly allowed: boolean;
  /**
   * The stream's committed head in the same snapshot as `allowed`: a later change that takes
   * the user's access away has a larger seq (the head row lock orders them).
   */
  readonly head: number;
}

/**
 * Reads whether `userId` may read `stream` (a member of its conversation or workspace, or its
 * own user stream) and the stream's head, in one statement, so one snapshot.
 */
export async function readStreamAccess(
  db: Database,
  stream: StreamName,
  userId: string,
): Promise<StreamAccess> {
  const { kind, id } = parseStreamName(stream);
  const allowed =
    kind === 'user'
      ? sql`${id}::uuid = ${userId}::uuid`
      : sql`EXISTS (SELECT 1 FROM ${CONTAINERS[kind].members}
                    WHERE ${CONTAINERS[kind].key} = ${id}::uuid AND user_id = ${userId}::uuid)`;
  const result = await db.execute<{ allowed: boolean; head: string }>(
    sql`SELECT ${allowed} AS allowed,
               COALESCE((SELECT head FROM stream_heads WHERE stream = ${stream}), 0) AS head`,
  );
  const row = result.rows[0]!;
  return { allowed: row.allowed, head: Number(row.head) };
}
