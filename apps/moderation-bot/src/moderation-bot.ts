import { schema, type Database } from '@ccs/db';
import { consumeChangeFeed, type ChangeFeedConsumerOptions } from '@ccs/jobs';
import { eq } from 'drizzle-orm';
import { bannedWordCheck } from './banned-words.js';

/** Options of {@link startModerationBot}. */
export interface ModerationBotOptions {
  readonly db: Database;
  /** Redis for BullMQ (`maxRetriesPerRequest: null` when an ioredis instance). */
  readonly connection: ChangeFeedConsumerOptions['connection'];
  /** The deployment's Redis prefix (the sync-server's `CCS_REDIS_PREFIX`). */
  readonly prefix: string;
  /** The change feed to read, e.g. `moderation` for `CCS_CHANGE_FEEDS=moderation=conversation:*`. */
  readonly feed: string;
  /** Words (case-insensitive, whole words) that get a message removed. */
  readonly bannedWords: readonly string[];
  readonly logger?: ChangeFeedConsumerOptions['logger'];
}

/** A running moderation bot. */
export interface ModerationBot {
  /** Finishes the change in hand, then stops. */
  close(): Promise<void>;
}

/**
 * Reads a CCS change feed and deletes every new message that contains a banned word, straight in
 * PostgreSQL, like any service next to CCS would: the capture trigger turns the delete into a
 * `message.deleted` change that every subscribed device receives. A change handled twice (the
 * feed hands a change on again after a crash) deletes nothing the second time.
 */
export function startModerationBot(options: ModerationBotOptions): ModerationBot {
  const { db, logger } = options;
  const isBanned = bannedWordCheck(options.bannedWords);
  const consumer = consumeChangeFeed({
    connection: options.connection,
    prefix: options.prefix,
    feed: options.feed,
    logger,
    async handle(change) {
      if (change.kind !== 'message.created' || !isBanned(change.data.body)) return;
      const removed = await db
        .delete(schema.messages)
        .where(eq(schema.messages.id, change.data.id))
        .returning({ id: schema.messages.id });
      if (removed.length > 0) {
        logger?.info({ messageId: change.data.id, stream: change.stream }, 'removed a message');
      }
    },
  });
  return { close: () => consumer.close() };
}
