import { bigint, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { conversations, devices, users } from './directory.js';

export const messages = pgTable(
  'messages',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    conversationId: uuid('conversation_id')
      .notNull()
      .references(() => conversations.id, { onDelete: 'cascade' }),
    authorId: uuid('author_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    deviceId: uuid('device_id')
      .notNull()
      .references(() => devices.id, { onDelete: 'cascade' }),
    /** Chosen by the sending device; (device_id, client_id) makes a retried send idempotent. */
    clientId: text('client_id').notNull(),
    /** Empty once the message is deleted (`deletedAt`): a deleted message keeps its place. */
    body: text('body').notNull(),
    /**
     * The message's seq in its conversation's stream (the seq of its `message.created`), set by
     * the capture trigger whatever the writer gives: history pages by it, and it outlives retention of the change log.
     */
    seq: bigint('seq', { mode: 'number' }).notNull().default(0),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    editedAt: timestamp('edited_at', { withTimezone: true }),
    /** Soft delete: the row stays (its seq, its place in history), its body is emptied. */
    deletedAt: timestamp('deleted_at', { withTimezone: true }),
  },
  (table) => [
    uniqueIndex('messages_device_client_uidx').on(table.deviceId, table.clientId),
    uniqueIndex('messages_conversation_seq_uidx').on(table.conversationId, table.seq),
  ],
);
