import { findRecipientEndpoints, readConversationMembers, type Database } from '@ccs/db';
import type { ChangeEvent, StreamName } from '@ccs/protocol';
import type { Queue } from 'bullmq';
import type { ChangeSink } from './change-dispatcher.js';
import { changeJobId } from './change-feed.js';

/** The queue of webhook notifications. */
export const WEBHOOK_QUEUE = 'ccs-webhooks';

/** Which of these users have a device online in the stream (presence). */
export type OnlineUsers = (
  stream: StreamName,
  userIds: readonly string[],
) => Promise<ReadonlySet<string>>;

/** One notification: a change, the user it is for, the endpoint to POST it to. */
export interface WebhookJobData {
  readonly endpointId: string;
  readonly recipientId: string;
  readonly change: ChangeEvent<'message'>;
}

/** How notifications are retried. */
export interface WebhookRetryPolicy {
  /** Tries before a notification ends `failed`. @default 8 */
  readonly attempts?: number;
  /** Wait before the first retry; the n-th waits `backoffMs × 2^(n−1)`, less jitter. @default 1000 */
  readonly backoffMs?: number;
  /** Up to this share of each wait is taken off at random (0–1). @default 0.5 */
  readonly jitter?: number;
}

/** The job id of a notification: the same for the same (endpoint, change, recipient). */
export function webhookJobId(data: WebhookJobData): string {
  return `${data.endpointId}.${changeJobId(data.change)}.${data.recipientId}`;
}

/**
 * The dispatcher's sink of offline notifications: for each new message, the conversation's
 * members other than its author who have no device online in the conversation's stream get one
 * job per endpoint that notifies them (their own, and every app endpoint). Per read: one query
 * for members, one for endpoints (none: nothing more is asked), one presence lookup per stream.
 * Job ids make a change handed on twice add each notification once.
 */
export function offlineNotificationSink(options: {
  readonly db: Database;
  readonly queue: Queue<WebhookJobData>;
  readonly onlineUsers: OnlineUsers;
  readonly retry?: WebhookRetryPolicy;
}): ChangeSink {
  const { db, queue, onlineUsers } = options;
  const jobOptions = {
    attempts: options.retry?.attempts ?? 8,
    backoff: {
      type: 'exponential',
      delay: options.retry?.backoffMs ?? 1000,
      jitter: options.retry?.jitter ?? 0.5,
    },
    removeOnComplete: { age: 86_400, count: 10_000 },
    removeOnFail: { age: 7 * 86_400 },
  };
  return async (changes) => {
    const created = changes.filter(
      (change): change is ChangeEvent<'message'> => change.kind === 'message.created',
    );
    if (created.length === 0) return;
    const members = await readConversationMembers(db, [
      ...new Set(created.map((change) => change.data.conversationId)),
    ]);
    const recipientsOf = (change: ChangeEvent<'message'>): string[] =>
      (members.get(change.data.conversationId) ?? []).filter(
        (userId) => userId !== change.data.authorId,
      );
    // Endpoints first: with none that would notify, presence is not asked at all.
    const endpoints = await findRecipientEndpoints(db, [...new Set(created.flatMap(recipientsOf))]);
    if (endpoints.length === 0) return;
    const anyAppEndpoint = endpoints.some((endpoint) => endpoint.userId === null);
    const withEndpoint = new Set(endpoints.map((endpoint) => endpoint.userId));
    // Presence once per stream of this read.
    const onlineByStream = new Map<StreamName, ReadonlySet<string>>();
    const offline: { change: ChangeEvent<'message'>; userIds: string[] }[] = [];
    for (const change of created) {
      const recipients = recipientsOf(change).filter(
        (userId) => anyAppEndpoint || withEndpoint.has(userId),
      );
      if (recipients.length === 0) continue;
      let online = onlineByStream.get(change.stream);
      if (!online) {
        const candidates = new Set(
          created.filter((c) => c.stream === change.stream).flatMap(recipientsOf),
        );
        online = await onlineUsers(change.stream, [...candidates]);
        onlineByStream.set(change.stream, online);
      }
      const userIds = recipients.filter((userId) => !online.has(userId));
      if (userIds.length > 0) offline.push({ change, userIds });
    }
    const jobs = offline.flatMap(({ change, userIds }) =>
      userIds.flatMap((recipientId) =>
        endpoints
          .filter((endpoint) => endpoint.userId === null || endpoint.userId === recipientId)
          .map((endpoint) => {
            const data: WebhookJobData = { endpointId: endpoint.id, recipientId, change };
            return {
              name: change.kind,
              data,
              opts: { ...jobOptions, jobId: webhookJobId(data) },
            };
          }),
      ),
    );
    if (jobs.length > 0) await queue.addBulk(jobs);
  };
}
