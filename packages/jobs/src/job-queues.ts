import { Queue, type ConnectionOptions } from 'bullmq';
import { changeFeedQueueName, type ChangeFeed } from './change-feed.js';
import { WEBHOOK_QUEUE } from './offline-notifications.js';
import { RETENTION_QUEUE } from './retention-worker.js';

/** Which queues a deployment uses: webhooks always, one per change feed, retention when on. */
export interface JobQueueSet {
  readonly feeds: readonly ChangeFeed[];
  readonly retention: boolean;
}

/** The names of every queue a deployment uses; the failed-jobs view (REST, `ccs-jobs`) looks in these. */
export function jobQueueNames(set: JobQueueSet): string[] {
  return [
    WEBHOOK_QUEUE,
    ...set.feeds.map((feed) => changeFeedQueueName(feed.name)),
    ...(set.retention ? [RETENTION_QUEUE] : []),
  ];
}

/** Opens every queue of {@link jobQueueNames} (to look at them: no worker runs). */
export function openJobQueues(
  options: JobQueueSet & { readonly connection: ConnectionOptions; readonly prefix: string },
): Queue[] {
  return jobQueueNames(options).map(
    (name) => new Queue(name, { connection: options.connection, prefix: options.prefix }),
  );
}
