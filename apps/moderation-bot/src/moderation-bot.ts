import { schema, type Database } from '@ccs/db';
import { and, eq, sql } from 'drizzle-orm';

/** Options of {@link removeBannedMessages}. */
export interface ModerationOptions {
  /** Words (case-insensitive, whole words) that get a message removed. */
  readonly bannedWords: readonly string[];
}

/**
 * Deletes the messages of a conversation that contain a banned word and returns their ids. It
 * writes straight to PostgreSQL, like any service next to CCS would: the capture trigger turns
 * each delete into a `message.deleted` change that every subscribed device receives.
 */
export async function removeBannedMessages(
  db: Database,
  conversationId: string,
  options: ModerationOptions,
): Promise<string[]> {
  if (options.bannedWords.length === 0) return [];
  const escaped = options.bannedWords.map((word) => word.replace(/[^\p{L}\p{N}]/gu, ''));
  const pattern = `\\m(${escaped.filter(Boolean).join('|')})\\M`;
  const removed = await db
    .delete(schema.messages)
    .where(
      and(
        eq(schema.messages.conversationId, conversationId),
        sql`${schema.messages.body} ~* ${pattern}`,
      ),
    )
    .returning({ id: schema.messages.id });
  return removed.map((row) => row.id);
}
