import { z } from 'zod';
import type {
  ConversationData,
  ConversationMemberData,
  DeviceData,
  MessageData,
  ReadReceiptData,
  SyncFileData,
  UserData,
  WorkspaceData,
  WorkspaceMemberData,
} from './change-data.js';
import type { StreamName } from './streams.js';

/** Most messages one history page or snapshot carries. */
export const MAX_PAGE_SIZE = 200;

/** `GET /v1/streams/:stream/snapshot?messages=` */
export const snapshotQuerySchema = z.strictObject({
  /** A conversation snapshot's newest messages. @default 50 */
  messages: z.coerce.number().int().min(0).max(MAX_PAGE_SIZE).default(50),
});
export type SnapshotQuery = z.infer<typeof snapshotQuerySchema>;

/** `GET /v1/conversations/:id/messages?before=&limit=` */
export const historyQuerySchema = z.strictObject({
  /** Messages with `seq < before`; omitted: from the newest. */
  before: z.coerce
    .number()
    .int()
    .min(-(2 ** 52))
    .max(2 ** 52)
    .optional(),
  limit: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).default(50),
});
export type HistoryQuery = z.infer<typeof historyQuerySchema>;

/** One page of a conversation's messages, newest first. */
export interface HistoryPage {
  readonly messages: readonly MessageData[];
  /** Pass as `before` for the next (older) page; null when this page reached the first message. */
  readonly nextBefore: number | null;
}

/**
 * A stream's state and the seq it corresponds to, read in one REPEATABLE READ transaction:
 * subscribe with `since: seq` and every later change arrives once, none before it again.
 */
interface SnapshotBase<S extends string> {
  readonly stream: StreamName & `${S}:${string}`;
  readonly seq: number;
}

export interface ConversationSnapshot extends SnapshotBase<'conversation'> {
  readonly conversation: ConversationData;
  readonly members: readonly ConversationMemberData[];
  /** The newest messages, oldest first; older ones through history (`before` = the first's seq). */
  readonly messages: readonly MessageData[];
  readonly receipts: readonly ReadReceiptData[];
}

export interface WorkspaceSnapshot extends SnapshotBase<'workspace'> {
  readonly workspace: WorkspaceData;
  readonly members: readonly WorkspaceMemberData[];
  /** Live files (not deleted), by path. */
  readonly files: readonly SyncFileData[];
}

/** A user's own stream: their devices and their memberships. */
export interface UserSnapshot extends SnapshotBase<'user'> {
  readonly user: UserData;
  readonly devices: readonly DeviceData[];
  readonly conversations: readonly ConversationMemberData[];
  readonly workspaces: readonly WorkspaceMemberData[];
}

export type StreamSnapshot = ConversationSnapshot | WorkspaceSnapshot | UserSnapshot;

/** What `PUT /v1/workspaces/:id/contents/:hash` answers. */
export interface ContentUploadResult {
  readonly hash: string;
  readonly sizeBytes: number;
}
