/**
 * What a `change` event carries for each synced table: the row as captured by the database
 * trigger, with camelCase keys and timestamps as ISO strings. For `*.deleted` it is the row as it
 * was before the delete.
 */
export interface MessageData {
  readonly id: string;
  readonly conversationId: string;
  readonly authorId: string;
  readonly deviceId: string;
  readonly clientId: string;
  /** Empty once deleted. */
  readonly body: string;
  /** The seq of the message's `message.created` in its conversation's stream. */
  readonly seq: number;
  readonly createdAt: string;
  readonly editedAt: string | null;
  /** Set once the message is deleted (soft delete: the row keeps its place, the body goes). */
  readonly deletedAt: string | null;
}

export interface ConversationData {
  readonly id: string;
  readonly title: string;
  readonly createdAt: string;
  /** The device that created it through CCS, with the client id it chose; null otherwise. */
  readonly creatorDeviceId: string | null;
  readonly clientId: string | null;
}

export interface ConversationMemberData {
  readonly conversationId: string;
  readonly userId: string;
  readonly joinedAt: string;
}

export interface UserData {
  readonly id: string;
  readonly name: string;
  readonly createdAt: string;
}

export interface DeviceData {
  readonly id: string;
  readonly userId: string;
  readonly name: string;
  readonly createdAt: string;
  readonly revokedAt: string | null;
}

export interface WorkspaceData {
  readonly id: string;
  readonly name: string;
  readonly createdAt: string;
  readonly creatorDeviceId: string | null;
  readonly clientId: string | null;
}

/** How far one device has read one conversation (the newest seq it has seen). */
export interface ReadReceiptData {
  readonly conversationId: string;
  readonly deviceId: string;
  readonly userId: string;
  readonly readSeq: number;
  readonly readAt: string;
}

/** A file of a file-sync workspace, at one version. */
export interface SyncFileData {
  readonly id: string;
  readonly workspaceId: string;
  /** Relative, `/`-separated, e.g. `notes/today.md`. */
  readonly path: string;
  readonly sizeBytes: number;
  /** SHA-256 of the content, lowercase hex; the content is fetched by it. */
  readonly contentHash: string;
  /** 1 when created, +1 for every applied change (update, move, delete). */
  readonly version: number;
  readonly deleted: boolean;
  readonly updatedAt: string;
  readonly updatedByDeviceId: string | null;
}

export interface WorkspaceMemberData {
  readonly workspaceId: string;
  readonly userId: string;
  readonly role: string;
  readonly joinedAt: string;
}

export interface FileData {
  readonly id: string;
  readonly workspaceId: string | null;
  readonly conversationId: string | null;
  readonly ownerId: string;
  readonly name: string;
  readonly contentType: string;
  readonly sizeBytes: number;
  readonly createdAt: string;
}

/** The data of each entity, by entity name (the part of a change kind before the dot). */
export interface ChangeDataByEntity {
  message: MessageData;
  conversation: ConversationData;
  conversation_member: ConversationMemberData;
  user: UserData;
  device: DeviceData;
  workspace: WorkspaceData;
  workspace_member: WorkspaceMemberData;
  file: FileData;
  read_receipt: ReadReceiptData;
  sync_file: SyncFileData;
}
