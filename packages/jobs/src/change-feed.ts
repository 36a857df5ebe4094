import type { ChangeEvent } from '@ccs/protocol';
import { Queue, Worker, type ConnectionOptions } from 'bullmq';
import { pino, type Logger } from 'pino';
import type { ChangeSink } from './change-dispatcher.js';

/**
 * A change feed: every committed change of the streams it names goes, in order per stream, to
 * the BullMQ queue `ccs-feed.<name>` (see {@link changeFeedQueueName}), as a job whose name is
 * the change's kind and whose data is the {@link ChangeEvent} a device would receive.
 */
export interface ChangeFeed {
  /** Letters, digits, `_` and `-`. */
  readonly name: string;
  /** Stream names, or prefixes ending in `*`: `conversation:*` is every conversation. */
  readonly streams: readonly string[];
}

/** Thrown by {@link parseChangeFeeds} on a malformed definition. */
export class ChangeFeedConfigError extends Error {
  override readonly name = 'ChangeFeedConfigError';
  readonly code = 'invalid_change_feeds';
}

const FEED_NAME = /^[A-Za-z0-9_-]{1,64}$/;
const STREAM_PATTERN = /^(conversation|workspace|user)(:(\*|[0-9a-fA-F-]{36}))?$|^\*$/;

/**
 * Reads feeds from `name=pattern,pattern;name=pattern` (the `CCS_CHANGE_FEEDS` variable), e.g.
 * `moderation=conversation:*;audit=workspace:*,user:*`.
 */
export function parseChangeFeeds(text: string): ChangeFeed[] {
  const feeds: ChangeFeed[] = [];
  for (const part of text.split(';').map((entry) => entry.trim())) {
    if (!part) continue;
    const [name = '', patterns = ''] = part.split('=', 2).map((value) => value.trim());
    if (!FEED_NAME.test(name)) {
      throw new ChangeFeedConfigError(
        `feed name "${name}" must be 1–64 letters, digits, "_" or "-" (in "${part}")`,
      );
    }
    if (feeds.some((feed) => feed.name === name)) {
      throw new ChangeFeedConfigError(`feed "${name}" is defined twice`);
    }
    const streams = patterns.split(',').map((pattern) => pattern.trim());
    for (const pattern of streams) {
      if (!STREAM_PATTERN.test(pattern)) {
        throw new ChangeFeedConfigError(
          `feed "${name}": "${pattern}" is not a stream name or a prefix such as "conversation:*"`,
        );
      }
    }
    feeds.push({ name, streams });
  }
  return feeds;
}

/** The BullMQ queue of a feed. */
export function changeFeedQueueName(feed: string): string {
  return `ccs-feed.${feed}`;
}

/** Whether a feed takes a stream's changes. */
export function feedTakes(feed: ChangeFeed, stream: string): boolean {
  return feed.streams.some((pattern) =>
    pattern.endsWith('*') ? stream.startsWith(pattern.slice(0, -1)) : stream === pattern,
  );
}

/**
 * A job id per change (`conversation.<id>.<seq>`; BullMQ ids cannot hold `:`): a change handed
 * on twice after a crash is added once.
 */
export function changeJobId(change: Pick<ChangeEvent, 'stream' | 'seq'>): string {
  return `${change.stream.replace(':', '.')}.${change.seq}`;
}

/** Where feeds are published, and their queues. */
export interface ChangeFeedPublisher {
  readonly sink: ChangeSink;
  readonly queues: readonly Queue[];
  /** Sets each queue to one active job at a time, whatever the number of consumers. */
  readonly ready: Promise<void>;
}

/**
 * The dispatcher's sink of feeds: each read's changes of a feed's streams are added to its queue
 * in one `addBulk`, in read order. Each queue runs one job at a time across every consumer
 * (BullMQ global concurrency 1), so changes are handled in the order added; a consumer that dies
 * mid-job leaves its job stalled, and BullMQ puts it back at the head of the queue.
 */
export function publishChangeFeeds(options: {
  readonly feeds: readonly ChangeFeed[];
  readonly connection: ConnectionOptions;
  readonly prefix: string;
}): ChangeFeedPublisher {
  const entries = options.feeds.map((feed) => ({
    feed,
    queue: new Queue<ChangeEvent>(changeFeedQueueName(feed.name), {
      connection: options.connection,
      prefix: options.prefix,
      // Kept an hour: a change handed on again after a crash finds its job and is not re-added.
      defaultJobOptions: { removeOnComplete: { age: 3600, count: 10_000 }, removeOnFail: false },
    }),
  }));
  return {
    queues: entries.map((entry) => entry.queue),
    ready: Promise.all(entries.map((entry) => entry.queue.setGlobalConcurrency(1))).then(
      () => undefined,
    ),
    async sink(changes) {
      for (const { feed, queue } of entries) {
        const taken = changes.filter((change) => feedTakes(feed, change.stream));
        if (taken.length === 0) continue;
        await queue.addBulk(
          taken.map((change) => ({
            name: change.kind,
            data: change,
            opts: { jobId: changeJobId(change) },
          })),
        );
      }
    },
  };
}

/** Options of {@link consumeChangeFeed}. */
export interface ChangeFeedConsumerOptions {
  /** A connection for BullMQ (`maxRetriesPerRequest: null` when an ioredis instance). */
  readonly connection: ConnectionOptions;
  /** The deployment's Redis prefix (`CCS_REDIS_PREFIX`). */
  readonly prefix: string;
  readonly feed: string;
  /** Called once per change, in order per stream; throw to have it retried. */
  readonly handle: (change: ChangeEvent) => Promise<void>;
  /**
   * Tries per change before its job fails (listed by `ccs-jobs failed`, retried by hand) and the
   * feed goes on. Retries wait in place, so later changes wait too. @default 5
   */
  readonly attempts?: number;
  /** First retry's wait; each next one doubles. @default 500 */
  readonly backoffMs?: number;
  readonly logger?: Logger;
}

/** A running feed consumer. */
export interface ChangeFeedConsumer {
  readonly worker: Worker<ChangeEvent>;
  /** Finishes the change in hand, then stops. */
  close(): Promise<void>;
}

/**
 * Consumes a change feed from a sibling app: no socket, no device token, the same changes as a
 * device gets. Start as many as you like; the feed still runs one change at a time.
 *
 * @example
 * const consumer = consumeChangeFeed({
 *   connection: { url: 'redis://127.0.0.1:6379' },
 *   prefix: 'ccs',
 *   feed: 'moderation',
 *   handle: async (change) => { if (change.kind === 'message.created') await check(change); },
 * });
 */
export function consumeChangeFeed(options: ChangeFeedConsumerOptions): ChangeFeedConsumer {
  const attempts = options.attempts ?? 5;
  const backoffMs = options.backoffMs ?? 500;
  const logger = options.logger ?? pino({ level: 'silent' });
  const worker = new Worker<ChangeEvent>(
    changeFeedQueueName(options.feed),
    async (job) => {
      for (let attempt = 1; ; attempt++) {
        try {
          await options.handle(job.data);
          return;
        } catch (error) {
          if (attempt >= attempts) throw error;
          logger.warn({ err: error, job: job.id, attempt }, 'change feed handler failed; retrying');
          await new Promise((resolve) => setTimeout(resolve, backoffMs * 2 ** (attempt - 1)));
        }
      }
    },
    { connection: options.connection, prefix: options.prefix, concurrency: 1 },
  );
  worker.on('error', (error) => logger.warn({ err: error }, 'change feed consumer: Redis error'));
  return { worker, close: () => worker.close() };
}
