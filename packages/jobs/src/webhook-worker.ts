import {
  findWebhookDelivery,
  findWebhookEndpoint,
  recordWebhookDelivery,
  type Database,
  type WebhookDeliveryKey,
} from '@ccs/db';
import { Worker, type ConnectionOptions, type Job } from 'bullmq';
import { pino, type Logger } from 'pino';
import { WEBHOOK_QUEUE, type WebhookJobData } from './offline-notifications.js';
import { signWebhook, WEBHOOK_ID_HEADER, WEBHOOK_SIGNATURE_HEADER } from './webhook-signature.js';

/** The JSON body POSTed to an endpoint. */
export interface WebhookNotification {
  /** The same on every retry of this notification (also in the `ccs-webhook-id` header). */
  readonly id: string;
  readonly type: 'change.offline';
  /** The user with no device online the change is for. */
  readonly recipientId: string;
  readonly change: WebhookJobData['change'];
}

/** What a notification job ended with. */
export type WebhookOutcome = 'delivered' | 'already_delivered' | 'endpoint_removed';

/** Options of {@link startWebhookWorker}. */
export interface WebhookWorkerOptions {
  readonly db: Database;
  readonly connection: ConnectionOptions;
  readonly prefix: string;
  /** A POST not answered within this fails the attempt. @default 10_000 */
  readonly timeoutMs?: number;
  /** Notifications POSTed at once by this process. @default 8 */
  readonly concurrency?: number;
  /**
   * A job whose worker died is retried once its lock expires; the lock is renewed every half of
   * this while the job runs. @default 30_000
   */
  readonly lockDurationMs?: number;
  readonly logger?: Logger;
}

/** One attempt that got no 2xx: its status (null when no answer came) and why. */
class AttemptFailed extends Error {
  constructor(
    readonly responseStatus: number | null,
    message: string,
  ) {
    super(message);
  }
}

/**
 * POSTs offline notifications: each body is signed (HMAC-SHA256 over `<timestamp>.<body>`, see
 * {@link signWebhook}); a 2xx is recorded in `webhook_deliveries` before the job completes, and
 * a job that finds its notification recorded as delivered ends without a POST, so a retried or
 * re-added job never notifies twice. Anything else is retried by BullMQ with the job's backoff;
 * the last failure is recorded as `failed` and the job stays in the failed set.
 */
export function startWebhookWorker(options: WebhookWorkerOptions): Worker<WebhookJobData> {
  const logger = options.logger ?? pino({ level: 'silent' });
  const timeoutMs = options.timeoutMs ?? 10_000;
  const lockDuration = options.lockDurationMs ?? 30_000;
  const worker = new Worker<WebhookJobData, WebhookOutcome>(
    WEBHOOK_QUEUE,
    (job) => notify(options.db, job, timeoutMs),
    {
      connection: options.connection,
      prefix: options.prefix,
      concurrency: options.concurrency ?? 8,
      lockDuration,
      stalledInterval: lockDuration,
    },
  );
  worker.on('failed', (job, error) =>
    logger.warn(
      { job: job?.id, attempts: job?.attemptsMade, reason: error.message },
      'webhook failed',
    ),
  );
  return worker;
}

async function notify(
  db: Database,
  job: Job<WebhookJobData, WebhookOutcome>,
  timeoutMs: number,
): Promise<WebhookOutcome> {
  const { endpointId, recipientId, change } = job.data;
  const key: WebhookDeliveryKey = {
    endpointId,
    stream: change.stream,
    seq: change.seq,
    recipientId,
  };
  const endpoint = await findWebhookEndpoint(db, endpointId);
  if (!endpoint) return 'endpoint_removed';
  if ((await findWebhookDelivery(db, key))?.status === 'delivered') return 'already_delivered';
  const notification: WebhookNotification = {
    id: `${change.stream}/${change.seq}/${recipientId}`,
    type: 'change.offline',
    recipientId,
    change,
  };
  const body = JSON.stringify(notification);
  const attempt = job.attemptsMade + 1;
  try {
    const response = await post(
      endpoint.url,
      body,
      {
        [WEBHOOK_ID_HEADER]: notification.id,
        [WEBHOOK_SIGNATURE_HEADER]: signWebhook(
          endpoint.secret,
          body,
          Math.floor(Date.now() / 1000),
        ),
      },
      timeoutMs,
    );
    await recordWebhookDelivery(db, {
      ...key,
      status: 'delivered',
      attempts: attempt,
      responseStatus: response,
      lastError: null,
    });
    return 'delivered';
  } catch (error) {
    const failure =
      error instanceof AttemptFailed ? error : new AttemptFailed(null, errorMessage(error));
    if (attempt >= (job.opts.attempts ?? 1)) {
      await recordWebhookDelivery(db, {
        ...key,
        status: 'failed',
        attempts: attempt,
        responseStatus: failure.responseStatus,
        lastError: failure.message,
      });
    }
    throw failure;
  }
}

/** POSTs; resolves with a 2xx status, throws {@link AttemptFailed} otherwise. */
async function post(
  url: string,
  body: string,
  headers: Record<string, string>,
  timeoutMs: number,
): Promise<number> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'ccs-webhooks', ...headers },
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    throw new AttemptFailed(null, `POST ${new URL(url).origin} failed: ${errorMessage(error)}`);
  }
  await response.body?.cancel();
  if (response.status < 200 || response.status > 299) {
    throw new AttemptFailed(
      response.status,
      `POST ${new URL(url).origin} answered ${response.status}`,
    );
  }
  return response.status;
}

function errorMessage(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return `${error.message}${cause}`;
}
