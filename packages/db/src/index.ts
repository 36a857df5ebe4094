export { DbError, explainDbError, type DbErrorCode } from './db-error.js';
export { PG_ERROR, isDataException, pgErrorCode } from './pg-error-codes.js';
export {
  createDatabase,
  type Database,
  type DatabaseHandle,
  type DatabaseOptions,
} from './database.js';
export { inTransaction, type Transaction, type TransactionOptions } from './transaction.js';
export { migrateDatabase, migrationsFolder, migrationsHash, redactUrl } from './migrations.js';
export {
  ChangeTail,
  type ChangeTailOptions,
  type ChangeTailRead,
  type SavedTailPosition,
} from './change-tail.js';
export * as schema from './schema/index.js';
export {
  findActiveDevice,
  findActiveDevices,
  findDevice,
  findUser,
  insertConversation,
  insertDevice,
  insertUser,
  insertUserIfMissing,
  insertDeviceIfMissing,
  insertWorkspace,
  isConversationMember,
  isWorkspaceMember,
  type Conversation,
  type Workspace,
  type Device,
  type User,
} from './queries/directory-queries.js';
export {
  readStreamAccess,
  readStreamAccesses,
  type StreamAccess,
  type StreamAccessRequest,
} from './queries/access-queries.js';
export {
  changeMessage,
  findSentMessage,
  insertMessage,
  markRead,
  readHistory,
  type InsertMessageInput,
  type Message,
  type StoredMessage,
} from './queries/message-queries.js';
export {
  requireMember,
  type Actor,
  type MemberContainer,
  type WriteOutcome,
} from './queries/write-context.js';
export {
  changeMembership,
  createContainer,
  renameContainer,
  type CreateContainerInput,
  type CreateOutcome,
} from './queries/membership-queries.js';
export {
  FileConflictError,
  pushFileChange,
  readFileContent,
  storeFileContent,
  type FileChangeOutcome,
} from './queries/sync-file-queries.js';
export { readSnapshot, type SnapshotOptions } from './queries/snapshot-queries.js';
export {
  readChanges,
  readStreamPosition,
  readStreamPositions,
  trimChangeLog,
  type StreamPosition,
} from './queries/change-log-queries.js';
export {
  deleteWebhookEndpoint,
  findRecipientEndpoints,
  findWebhookDelivery,
  findWebhookEndpoint,
  insertWebhookEndpoint,
  listWebhookEndpoints,
  readConversationMembers,
  readTailPosition,
  recordWebhookDelivery,
  saveTailPosition,
  type WebhookDelivery,
  type WebhookDeliveryKey,
  type WebhookEndpoint,
  type WebhookOwner,
} from './queries/background-queries.js';
