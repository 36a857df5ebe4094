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

/** Whose access to which stream {@link readStreamAccesses} reads. */
export interface StreamAccessRequest {
  readonly stream: StreamName;
  readonly userId: string;
}

/** A UUID as PostgreSQL's `uuid` reads it; a stream or user with another id has no access. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * {@link readStreamAccess} of several (stream, user) pairs in one statement, so one snapshot
 * (each pair's `allowed` and `head` are as of the same moment), prepared once per connection.
 * The answers are in the order of `requests`; a pair whose ids are not UUIDs is not allowed.
 */
export async function readStreamAccesses(
  db: Database,
  requests: readonly StreamAccessRequest[],
): Promise<StreamAccess[]> {
  const answers: StreamAccess[] = requests.map(() => ({ allowed: false, head: 0 }));
  const streams: string[] = [];
  const kinds: string[] = [];
  const ids: string[] = [];
  const users: string[] = [];
  /** The request each row of the statement answers. */
  const indexes: number[] = [];
  for (const [index, { stream, userId }] of requests.entries()) {
    const { kind, id } = parseStreamName(stream);
    if (!UUID.test(id) || !UUID.test(userId)) continue;
    streams.push(stream);
    kinds.push(kind);
    ids.push(id);
    users.push(userId);
    indexes.push(index);
  }
  if (indexes.length === 0) return answers;
  const result = await db.$client.query<{ i: string; allowed: boolean; head: string }>({
    name: 'ccs-read-stream-accesses',
    text: `SELECT r.i,
                  CASE r.kind
                    WHEN 'user' THEN r.id = r.user_id
                    WHEN 'conversation' THEN EXISTS (SELECT 1 FROM conversation_members m
                      WHERE m.conversation_id = r.id AND m.user_id = r.user_id)
                    WHEN 'workspace' THEN EXISTS (SELECT 1 FROM workspace_members m
                      WHERE m.workspace_id = r.id AND m.user_id = r.user_id)
                    ELSE false
                  END AS allowed,
                  COALESCE((SELECT h.head FROM stream_heads h WHERE h.stream = r.stream), 0) AS head
           FROM unnest($1::text[], $2::text[], $3::uuid[], $4::uuid[])
                WITH ORDINALITY AS r(stream, kind, id, user_id, i)`,
    values: [streams, kinds, ids, users],
  });
  for (const row of result.rows) {
    answers[indexes[Number(row.i) - 1]!] = { allowed: row.allowed, head: Number(row.head) };
  }
  return answers;
}
