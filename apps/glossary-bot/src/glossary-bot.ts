import { insertMessage, isConversationMember, type Database } from '@ccs/db';
import { consumeChangeFeed, type ChangeFeedConsumerOptions } from '@ccs/jobs';
import { answer, parseDefineCommand } from './define-command.js';

/** Options of {@link startGlossaryBot}. */
export interface GlossaryBotOptions {
  readonly db: Database;
  /** Redis for BullMQ (`maxRetriesPerRequest: null` when an ioredis instance). */
  readonly connection: ChangeFeedConsumerOptions['connection'];
  /** The deployment's Redis prefix (the sync-server's `CCS_REDIS_PREFIX`). */
  readonly prefix: string;
  /** The change feed to read, e.g. `glossary` for `CCS_CHANGE_FEEDS=glossary=conversation:*`. */
  readonly feed: string;
  /** Who the bot answers as: a user of its own, and a device of that user. */
  readonly bot: { readonly userId: string; readonly deviceId: string };
  /** Terms (any case) and their definitions. */
  readonly glossary: ReadonlyMap<string, string>;
  readonly logger?: ChangeFeedConsumerOptions['logger'];
}

/** A running glossary bot. */
export interface GlossaryBot {
  /** Finishes the change in hand, then stops. */
  close(): Promise<void>;
}

/**
 * Answers `!define <term>` in every conversation the bot's user is a member of, with a message
 * of its own written straight to PostgreSQL: the capture trigger makes it a change every device
 * of the conversation receives, as if a person had sent it. Idempotent: the answer's client id
 * is the question's message id, so a change handled twice answers once.
 */
export function startGlossaryBot(options: GlossaryBotOptions): GlossaryBot {
  const { db, bot } = options;
  const glossary = new Map(
    [...options.glossary].map(([term, definition]) => [term.toLowerCase(), definition]),
  );
  const consumer = consumeChangeFeed({
    connection: options.connection,
    prefix: options.prefix,
    feed: options.feed,
    logger: options.logger,
    async handle(change) {
      if (change.kind !== 'message.created' || change.data.authorId === bot.userId) return;
      const command = parseDefineCommand(change.data.body);
      if (!command) return;
      if (!(await isConversationMember(db, change.data.conversationId, bot.userId))) return;
      await insertMessage(db, {
        conversationId: change.data.conversationId,
        authorId: bot.userId,
        deviceId: bot.deviceId,
        clientId: `define:${change.data.id}`,
        body: answer(command, glossary),
      });
    },
  });
  return { close: () => consumer.close() };
}
