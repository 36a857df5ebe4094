import { streamName, type StreamName } from '@ccs/protocol';
import { and, desc, eq } from 'drizzle-orm';
import type { Database } from '../database.js';
import { DbError } from '../db-error.js';
import { PG_ERROR, pgErrorCode } from '../pg-error-codes.js';
import { inTransaction } from '../transaction.js';
import { changeLog, messages, streamHeads } from '../schema/index.js';

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
 * Inserts a message in one transaction and returns it with its stream seq once committed.
 * Idempotent on (device_id, client_id): a retry returns the stored row and writes nothing.
 */
export async function insertMessage(
  db: Database,
  input: InsertMessageInput,
): Promise<StoredMessage> {
  const inserted = await inTransaction(db, async (tx) => {
    const [row] = await tx
      .insert(messages)
      .values(input)
      .onConflictDoNothing({ target: [messages.deviceId, messages.clientId] })
      .returning();
    if (!row) return undefined;
    // The capture trigger bumped the head under a row lock this transaction still holds, so
    // the head is this message's seq. The stream is named from the stored (canonical) id.
    const stream = streamName('conversation', row.conversationId);
    const [head] = await tx
      .select({ head: streamHeads.head })
      .from(streamHeads)
      .where(eq(streamHeads.stream, stream));
    return { message: row, stream, seq: head!.head, created: true };
  }).catch((error: unknown) => {
    throw translateWriteError(error, input);
  });
  if (inserted) return inserted;

  const [message] = await db
    .select()
    .from(messages)
    .where(and(eq(messages.deviceId, input.deviceId), eq(messages.clientId, input.clientId)));
  // Its change, newest first along the stream's primary key: a retry follows its send closely.
  const [change] = message
    ? await db
        .select({ seq: changeLog.seq })
        .from(changeLog)
        .where(
          and(
            eq(changeLog.stream, streamName('conversation', message.conversationId)),
            eq(changeLog.entityId, message.id),
            eq(changeLog.kind, 'message.created'),
          ),
        )
        .orderBy(desc(changeLog.seq))
        .limit(1)
    : [];
  const existing = message && { message, seq: change?.seq ?? null };
  if (!existing) {
    throw new DbError(
      'conflict',
      `message (${input.deviceId}, ${input.clientId}) was written and removed meanwhile; send it with a new client id`,
      { deviceId: input.deviceId, clientId: input.clientId },
    );
  }
  if (existing.seq === null) {
    throw new DbError(
      'conflict',
      `message ${existing.message.id} was already stored; its change is older than retention, so its seq is no longer known`,
      { messageId: existing.message.id },
    );
  }
  return {
    message: existing.message,
    stream: streamName('conversation', existing.message.conversationId),
    seq: existing.seq,
    created: false,
  };
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
