import { sql } from 'drizzle-orm';
import { bigint, check, index, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { conversations, users } from './directory.js';
import { workspaces } from './workspaces.js';

/** File metadata (the bytes live in object storage); a file belongs to a workspace or a conversation. */
export const files = pgTable(
  'files',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    workspaceId: uuid('workspace_id').references(() => workspaces.id, { onDelete: 'cascade' }),
    conversationId: uuid('conversation_id').references(() => conversations.id, {
      onDelete: 'cascade',
    }),
    ownerId: uuid('owner_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    contentType: text('content_type').notNull().default('application/octet-stream'),
    sizeBytes: bigint('size_bytes', { mode: 'number' }).notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    check(
      'files_one_owner_stream',
      sql`(${table.workspaceId} IS NULL) <> (${table.conversationId} IS NULL)`,
    ),
    index('files_workspace_id_idx').on(table.workspaceId),
    index('files_conversation_id_idx').on(table.conversationId),
  ],
);
