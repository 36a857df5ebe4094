import { streamName, type HistoryPage, type StreamName } from '@ccs/protocol';
import { and, eq, sql } from 'drizzle-orm';
import { toEntityData } from '../change-event-mapper.js';
import type { Database } from '../database.js';
import { DbError } from '../db-error.js';
import { PG_ERROR, pgErrorCode } from '../pg-error-codes.js';
import { messages } from '../schema/index.js';
import { inTransaction } from '../transaction.js';
import {
  readHead,
  requireMember,
  streamOf,
  writeOutcome,
  type Actor,
  type WriteOutcome,
} from './write-context.js';

export type Message = typeof messages.$inferSelect;

export interface InsertMessageInput {
  readonly conversationId: string;
  readonly authorId: string;
  readonly deviceId: string;
  readonly clientId: string;
  readonly body: string;
}

/** A message as stored, with its place in the conversation's stream. */
export interface StoredMessage {
  readonly message: Message;
  readonly stream: StreamName;
  readonly seq: number;
  /** False when a send with the same (device, client id) already existed: nothing was written. */
  readonly created: boolean;
}

/**
 * Inserts a message (one statement, so one transaction) and returns it with its stream seq once
 * committed. Idempotent on (device_id, client_id): a retry returns the stored row, with its seq,
 * and writes nothing.
 */
export async function insertMessage(
  db: Database,
  input: InsertMessageInput,
): Promise<StoredMessage> {
  // The numbering trigger skips a (device, client id) already stored, before the head moves.
  const [row] = await db
    .insert(messages)
    .values(input)
    .onConflictDoNothing({ target: [messages.deviceId, messages.clientId] })
    .returning()
    .catch((error: unknown) => {
      throw translateWriteError(error, input);
    });
  if (row) return { message: row, stream: messageStream(row), seq: row.seq, created: true };
  const existing = await findSentMessage(db, input.deviceId, input.clientId);
  if (!existing) {
    throw new DbError(
      'conflict',
      `message (${input.deviceId}, ${input.clientId}) was written and removed meanwhile; send it with a new client id`,
      { deviceId: input.deviceId, clientId: input.clientId },
    );
  }
  return existing;
}

/**
 * The message a device already sent with this client id, if any, as stored (`created: false`):
 * what a retry of that send answers.
 */
export async function findSentMessage(
  db: Database,
  deviceId: string,
  clientId: string,
): Promise<StoredMessage | undefined> {
  const [message] = await db
    .select()
    .from(messages)
    .where(and(eq(messages.deviceId, deviceId), eq(messages.clientId, clientId)));
  return message && { message, stream: messageStream(message), seq: message.seq, created: false };
}

/** The stream of a message's conversation, named from the stored (canonical) id. */
function messageStream(message: Pick<Message, 'conversationId'>): StreamName {
  return streamName('conversation', message.conversationId);
}

function translateWriteError(error: unknown, input: InsertMessageInput): unknown {
  if (pgErrorCode(error) === PG_ERROR.foreignKeyViolation) {
    return new DbError(
      'not_found',
      `conversation ${input.conversationId}, author or device does not exist (any more); nothing was written`,
      { conversationId: input.conversationId, deviceId: input.deviceId },
      { cause: error },
    );
  }
  return error;
}

/** What a message edit or delete changes. */
type MessageChange = { readonly kind: 'edit'; readonly body: string } | { readonly kind: 'delete' };

/**
 * Replaces the body of a message (`edit`) or soft-deletes it (`delete`: the body is emptied, the
 * row keeps its seq). Only its author, still a member of its conversation, may; a deleted message
 * cannot be edited (`conflict`), and deleting it again changes nothing.
 */
export async function changeMessage(
  db: Database,
  actor: Actor,
  messageId: string,
  change: MessageChange,
): Promise<WriteOutcome> {
  return inTransaction(db, async (tx) => {
    const found = await tx.execute<{
      conversation_id: string;
      author_id: string;
      deleted: boolean;
    }>(
      sql`SELECT conversation_id, author_id, deleted_at IS NOT NULL AS deleted
          FROM messages WHERE id = ${messageId}::uuid FOR UPDATE`,
    );
    const message = found.rows[0];
    if (!message) {
      throw new DbError('not_found', `message ${messageId} does not exist`, { messageId });
    }
    await requireMember(tx, 'conversation', message.conversation_id, actor.userId, true);
    if (message.author_id !== actor.userId) {
      throw new DbError('forbidden', `only its author may change message ${messageId}`, {
        messageId,
      });
    }
    if (change.kind === 'edit') {
      if (message.deleted) {
        throw new DbError('conflict', `message ${messageId} was deleted; it cannot be edited`, {
          messageId,
        });
      }
      await tx.execute(
        sql`UPDATE messages SET body = ${change.body}, edited_at = now()
            WHERE id = ${messageId}::uuid AND body IS DISTINCT FROM ${change.body}`,
      );
    } else if (!message.deleted) {
      await tx.execute(
        sql`UPDATE messages SET body = '', deleted_at = now() WHERE id = ${messageId}::uuid`,
      );
    }
    return writeOutcome(tx, streamOf('conversation', message.conversation_id));
  });
}

/**
 * One page of a conversation's messages the actor is a member of, newest first: those with
 * `seq < before` (all when omitted), at most `limit`.
 */
export async function readHistory(
  db: Database,
  actor: Actor,
  conversationId: string,
  { before, limit }: { readonly before?: number; readonly limit: number },
): Promise<HistoryPage> {
  await requireMember(db, 'conversation', conversationId, actor.userId);
  const result = await db.execute<{ row: Record<string, unknown>; seq: string }>(
    sql`SELECT to_jsonb(m) AS row, m.seq FROM messages m
        WHERE m.conversation_id = ${conversationId}::uuid
          ${before === undefined ? sql`` : sql`AND m.seq < ${before}`}
        ORDER BY m.seq DESC LIMIT ${limit + 1}`,
  );
  const rows = result.rows.slice(0, limit);
  return {
    messages: rows.map((row) => toEntityData('message', row.row)),
    nextBefore: result.rows.length > limit ? Number(rows[rows.length - 1]!.seq) : null,
  };
}

/**
 * Moves the actor's device's read receipt of a conversation forward to `seq` (never back); a
 * `seq` past the stream's head is `invalid_input`. Answers the receipt as it now stands.
 */
export async function markRead(
  db: Database,
  actor: Actor,
  conversationId: string,
  seq: number,
): Promise<WriteOutcome & { readonly readSeq: number }> {
  const stream = streamOf('conversation', conversationId);
  return inTransaction(db, async (tx) => {
    await requireMember(tx, 'conversation', conversationId, actor.userId, true);
    const head = await readHead(tx, stream);
    if (seq > head) {
      throw new DbError(
        'invalid_input',
        `seq ${seq} is past ${stream}'s head (${head}); mark read only what was received`,
        { stream, seq, head },
      );
    }
    const result = await tx.execute<{ read_seq: string }>(
      sql`INSERT INTO read_receipts AS r (conversation_id, device_id, user_id, read_seq)
          VALUES (${conversationId}::uuid, ${actor.deviceId}::uuid, ${actor.userId}::uuid, ${seq})
          ON CONFLICT (conversation_id, device_id) DO UPDATE
            SET read_seq = excluded.read_seq, read_at = now()
            WHERE r.read_seq < excluded.read_seq
          RETURNING read_seq`,
    );
    const readSeq =
      result.rows[0] === undefined
        ? Number(
            (
              await tx.execute<{ read_seq: string }>(
                sql`SELECT read_seq FROM read_receipts
                    WHERE conversation_id = ${conversationId}::uuid AND device_id = ${actor.deviceId}::uuid`,
              )
            ).rows[0]!.read_seq,
          )
        : Number(result.rows[0].read_seq);
    return { ...(await writeOutcome(tx, stream)), readSeq };
  });
}
