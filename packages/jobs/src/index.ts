export { applyRetention, type RetentionPolicy } from './retention.js';
export {
  RETENTION_QUEUE,
  startRetentionWorker,
  type RetentionWorker,
  type RetentionWorkerOptions,
} from './retention-worker.js';
