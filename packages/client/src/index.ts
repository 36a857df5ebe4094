export {
  CcsClient,
  createClient,
  type ClientEvents,
  type ClientOptions,
  type ConnectionReason,
  type ConnectionState,
} from './ccs-client.js';
export {
  StreamSubscription,
  type ResumeOutcome,
  type StreamSubscriptionEvents,
} from './stream-subscription.js';
export { ClientError, type ClientErrorCode } from './client-error.js';
export {
  IndexedDbOutboxStorage,
  MemoryOutboxStorage,
  type OutboxItem,
  type OutboxStorage,
} from './outbox-storage.js';
export type { OutboxEvents } from './outbox.js';
