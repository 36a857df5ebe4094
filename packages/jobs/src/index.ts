export { applyRetention, type RetentionPolicy } from './retention.js';
export {
  RETENTION_QUEUE,
  startRetentionWorker,
  type RetentionWorker,
  type RetentionWorkerOptions,
} from './retention-worker.js';
export {
  ChangeDispatcher,
  type ChangeDispatcherOptions,
  type ChangeSink,
} from './change-dispatcher.js';
export {
  ChangeFeedConfigError,
  changeFeedQueueName,
  consumeChangeFeed,
  parseChangeFeeds,
  type ChangeFeed,
  type ChangeFeedConsumer,
  type ChangeFeedConsumerOptions,
} from './change-feed.js';
export {
  WEBHOOK_QUEUE,
  type OnlineUsers,
  type WebhookJobData,
  type WebhookRetryPolicy,
} from './offline-notifications.js';
export { type WebhookNotification, type WebhookOutcome } from './webhook-worker.js';
export {
  signWebhook,
  verifyWebhookSignature,
  WEBHOOK_ID_HEADER,
  WEBHOOK_SIGNATURE_HEADER,
  WebhookSignatureError,
  type WebhookSignatureErrorCode,
  type WebhookVerification,
} from './webhook-signature.js';
export { FailedJobError, listFailedJobs, retryFailedJob, type FailedJob } from './failed-jobs.js';
export { createJobMetrics, type JobMetrics } from './job-metrics.js';
export { startJobWorkers, type JobWorkers, type JobWorkersOptions } from './job-workers.js';
export { jobQueueNames, openJobQueues, type JobQueueSet } from './job-queues.js';
