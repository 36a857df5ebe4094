import {
  parseStreamName,
  type ConversationSnapshot,
  type StreamName,
  type StreamSnapshot,
  type UserSnapshot,
  type WorkspaceSnapshot,
} from '@ccs/protocol';
import { sql, type SQL } from 'drizzle-orm';
import { toEntityData } from '../change-event-mapper.js';
import type { Database } from '../database.js';
import { DbError } from '../db-error.js';
import { inTransaction, type Transaction } from '../transaction.js';
import {
  CONTAINERS,
  readHead,
  requireStreamAccess,
  type Actor,
  type MemberContainer,
} from './write-context.js';

/** Options of {@link readSnapshot}. */
export interface SnapshotOptions {
  /** How many of a conversation's newest messages the snapshot carries. */
  readonly messages: number;
}

/**
 * A stream's state and the seq it corresponds to, read in one REPEATABLE READ transaction, for
 * an actor allowed to read the stream: every change with a larger seq committed after it (the
 * head row lock orders a stream's writers), so subscribing with `since: seq` misses nothing and
 * repeats nothing.
 */
export async function readSnapshot(
  db: Database,
  actor: Actor,
  stream: StreamName,
  options: SnapshotOptions,
): Promise<StreamSnapshot> {
  return inTransaction(
    db,
    async (tx) => {
      await requireStreamAccess(tx, stream, actor.userId);
      const seq = await readHead(tx, stream);
      const { kind, id } = parseStreamName(stream);
      if (kind === 'conversation') return conversationSnapshot(tx, id, seq, options);
      if (kind === 'workspace') return workspaceSnapshot(tx, id, seq);
      return userSnapshot(tx, id, seq);
    },
    { snapshot: 'repeatable-read' },
  );
}

/** Rows of a query that selects `to_jsonb(…) AS row`. */
async function rows(tx: Transaction, query: SQL): Promise<Record<string, unknown>[]> {
  const result = await tx.execute<{ row: Record<string, unknown> }>(query);
  return result.rows.map((row) => row.row);
}

async function one(tx: Transaction, query: SQL, what: string): Promise<Record<string, unknown>> {
  const [row] = await rows(tx, query);
  if (!row) throw new DbError('not_found', `${what} does not exist`, { what });
  return row;
}

/** A container's row and its members' rows, oldest member first. */
async function containerState(
  tx: Transaction,
  kind: MemberContainer,
  id: string,
): Promise<{ row: Record<string, unknown>; members: Record<string, unknown>[] }> {
  const { table, members, key } = CONTAINERS[kind];
  return {
    row: await one(
      tx,
      sql`SELECT to_jsonb(c) AS row FROM ${table} c WHERE id = ${id}::uuid`,
      `${kind} ${id}`,
    ),
    members: await rows(
      tx,
      sql`SELECT to_jsonb(m) AS row FROM ${members} m
          WHERE ${key} = ${id}::uuid ORDER BY joined_at, user_id`,
    ),
  };
}

async function conversationSnapshot(
  tx: Transaction,
  id: string,
  seq: number,
  options: SnapshotOptions,
): Promise<ConversationSnapshot> {
  const { row, members } = await containerState(tx, 'conversation', id);
  const messages = await rows(
    tx,
    sql`SELECT row FROM (
          SELECT to_jsonb(m) AS row, m.seq FROM messages m WHERE conversation_id = ${id}::uuid
          ORDER BY m.seq DESC LIMIT ${options.messages}) newest
        ORDER BY seq`,
  );
  const receipts = await rows(
    tx,
    sql`SELECT to_jsonb(r) AS row FROM read_receipts r
        WHERE conversation_id = ${id}::uuid ORDER BY device_id`,
  );
  return {
    stream: `conversation:${id}`,
    seq,
    conversation: toEntityData('conversation', row),
    members: members.map((member) => toEntityData('conversation_member', member)),
    messages: messages.map((message) => toEntityData('message', message)),
    receipts: receipts.map((receipt) => toEntityData('read_receipt', receipt)),
  };
}

async function workspaceSnapshot(
  tx: Transaction,
  id: string,
  seq: number,
): Promise<WorkspaceSnapshot> {
  const { row, members } = await containerState(tx, 'workspace', id);
  const files = await rows(
    tx,
    sql`SELECT to_jsonb(f) AS row FROM sync_files f
        WHERE workspace_id = ${id}::uuid AND NOT deleted ORDER BY path`,
  );
  return {
    stream: `workspace:${id}`,
    seq,
    workspace: toEntityData('workspace', row),
    members: members.map((member) => toEntityData('workspace_member', member)),
    files: files.map((file) => toEntityData('sync_file', file)),
  };
}

async function userSnapshot(tx: Transaction, id: string, seq: number): Promise<UserSnapshot> {
  const user = await one(
    tx,
    sql`SELECT to_jsonb(u) AS row FROM users u WHERE id = ${id}::uuid`,
    `user ${id}`,
  );
  const devices = await rows(
    tx,
    sql`SELECT to_jsonb(d) AS row FROM devices d WHERE user_id = ${id}::uuid ORDER BY created_at, id`,
  );
  const conversations = await rows(
    tx,
    sql`SELECT to_jsonb(m) AS row FROM conversation_members m
        WHERE user_id = ${id}::uuid ORDER BY joined_at, conversation_id`,
  );
  const workspaces = await rows(
    tx,
    sql`SELECT to_jsonb(m) AS row FROM workspace_members m
        WHERE user_id = ${id}::uuid ORDER BY joined_at, workspace_id`,
  );
  return {
    stream: `user:${id}`,
    seq,
    user: toEntityData('user', user),
    devices: devices.map((row) => toEntityData('device', row)),
    conversations: conversations.map((row) => toEntityData('conversation_member', row)),
    workspaces: workspaces.map((row) => toEntityData('workspace_member', row)),
  };
}
