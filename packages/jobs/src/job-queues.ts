import { Queue, type ConnectionOptions } from 'bullmq';
import { changeFeedQueueName, type ChangeFeed } from './change-feed.js';
import { WEBHOOK_QUEUE } from './offline-notifications.js';
import { RETENTION_QUEUE } from './retention-worker.js';

/**
 * The names of every queue a deployment uses: webhooks, one per change feed, retention. The
 * failed-jobs view (REST, `ccs-jobs`) looks in these.
 */
export function jobQueueNames(feeds: readonly ChangeFeed[]): string[] {
  return [WEBHOOK_QUEUE, ...feeds.map((feed) => changeFeedQueueName(feed.name)), RETENTION_QUEUE];
}

/** Opens every queue of {@link jobQueueNames} (to look at them: no worker runs). */
export function openJobQueues(options: {
  readonly connection: ConnectionOptions;
  readonly prefix: string;
  readonly feeds: readonly ChangeFeed[];
}): Queue[] {
  return jobQueueNames(options.feeds).map(
    (name) => new Queue(name, { connection: options.connection, prefix: options.prefix }),
  );
}
