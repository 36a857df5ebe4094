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
  readonly body: string;
  readonly createdAt: string;
}

export interface ConversationData {
  readonly id: string;
  readonly title: string;
  readonly createdAt: string;
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
}
