import { parseStreamName, streamName, type StreamName } from '@ccs/protocol';
import { sql } from 'drizzle-orm';
import type { Database } from '../database.js';
import { DbError } from '../db-error.js';
import type { Transaction } from '../transaction.js';

/** Who makes a write: the user and the device it comes from. */
export interface Actor {
  readonly userId: string;
  readonly deviceId: string;
}

/** What a write answers: the stream it changed and the stream's head once it committed. */
export interface WriteOutcome {
  readonly stream: StreamName;
  readonly seq: number;
}

/** What can hold members: a conversation or a workspace. */
export type MemberContainer = 'conversation' | 'workspace';

/** Tables and columns of each kind of container. */
export const CONTAINERS = {
  conversation: {
    table: sql.identifier('conversations'),
    members: sql.identifier('conversation_members'),
    key: sql.identifier('conversation_id'),
  },
  workspace: {
    table: sql.identifier('workspaces'),
    members: sql.identifier('workspace_members'),
    key: sql.identifier('workspace_id'),
  },
} as const;

/**
 * The committed head of `stream` as `db` sees it; inside a transaction that wrote to the stream
 * it is the seq of that transaction's last change (its row lock keeps others out until commit).
 */
export async function readHead(db: Database | Transaction, stream: StreamName): Promise<number> {
  const result = await db.execute<{ head: string }>(
    sql`SELECT head FROM stream_heads WHERE stream = ${stream}`,
  );
  return Number(result.rows[0]?.head ?? 0);
}

/** `{ stream, seq }` of a write to `stream`, read in the writing transaction. */
export async function writeOutcome(
  tx: Database | Transaction,
  stream: StreamName,
): Promise<WriteOutcome> {
  return { stream, seq: await readHead(tx, stream) };
}

/**
 * Throws unless `userId` is a member of the container: `not_found` when it does not exist,
 * `forbidden` when the user is not a member. `lock` takes the membership row's share lock, so
 * a removal waits for this transaction (the write and the membership it relied on commit in
 * that order).
 */
export async function requireMember(
  db: Database | Transaction,
  kind: MemberContainer,
  id: string,
  userId: string,
  lock = false,
): Promise<void> {
  const { table, members, key } = CONTAINERS[kind];
  const member = await db.execute(
    sql`SELECT 1 FROM ${members} WHERE ${key} = ${id}::uuid AND user_id = ${userId}::uuid
        ${lock ? sql`FOR SHARE` : sql``}`,
  );
  if (member.rows.length > 0) return;
  // Only a refusal asks which one it is.
  const found = await db.execute(sql`SELECT 1 FROM ${table} WHERE id = ${id}::uuid`);
  if (found.rows.length === 0) {
    throw new DbError('not_found', `${kind} ${id} does not exist`, { kind, id });
  }
  throw new DbError('forbidden', `not a member of ${kind} ${id}`, { kind, id });
}

/** The stream of a container or a user. */
export function streamOf(kind: MemberContainer | 'user', id: string): StreamName {
  return streamName(kind, id);
}

/** Whether `userId` may read `stream` (its own user stream, or a container it is a member of). */
export async function requireStreamAccess(
  db: Database | Transaction,
  stream: StreamName,
  userId: string,
): Promise<void> {
  const { kind, id } = parseStreamName(stream);
  if (kind !== 'user') return requireMember(db, kind, id, userId);
  if (id !== userId)
    throw new DbError('forbidden', `${stream} is another user's stream`, { stream });
}
