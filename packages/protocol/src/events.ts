import type { WireError } from './error-codes.js';
import type {
  MessageDeletePayload,
  MessageEditPayload,
  MessageSendPayload,
  ReceiptReadPayload,
  SubscribePayload,
  UnsubscribePayload,
} from './payloads.js';
import type {
  ConversationCreatePayload,
  ConversationMemberPayload,
  ConversationUpdatePayload,
  WorkspaceCreatePayload,
  WorkspaceMemberPayload,
} from './conversation-payloads.js';
import type { FilePushPayload } from './file-sync-payloads.js';
import type { PresenceListPayload, TypingUpdatePayload } from './presence-payloads.js';
import type { ChangesReceivedPayload } from './received-payloads.js';
import type { ChangeDataByEntity, SyncFileData } from './change-data.js';
import type { StreamName } from './streams.js';

/** Event names, one place: the gateway, the SDK and the test clients all use these. */
export const EVENTS = {
  subscribe: 'subscribe',
  unsubscribe: 'unsubscribe',
  messageSend: 'message:send',
  messageEdit: 'message:edit',
  messageDelete: 'message:delete',
  receiptRead: 'receipt:read',
  conversationCreate: 'conversation:create',
  conversationUpdate: 'conversation:update',
  conversationAddMember: 'conversation:add_member',
  conversationRemoveMember: 'conversation:remove_member',
  workspaceCreate: 'workspace:create',
  workspaceAddMember: 'workspace:add_member',
  workspaceRemoveMember: 'workspace:remove_member',
  filePush: 'file:push',
  presenceList: 'presence:list',
  typingUpdate: 'typing:update',
  changesReceived: 'changes:received',
  changes: 'changes',
  resyncRequired: 'resync_required',
  unsubscribed: 'unsubscribed',
  sessionEnded: 'session_ended',
  presence: 'presence',
  typing: 'typing',
} as const;

/**
 * The writes a client may make: each is a socket event and a REST call with the same payload,
 * the same answer and the same limits (see {@link CLIENT_EVENTS}).
 */
export const WRITE_EVENTS = [
  EVENTS.messageSend,
  EVENTS.messageEdit,
  EVENTS.messageDelete,
  EVENTS.receiptRead,
  EVENTS.conversationCreate,
  EVENTS.conversationUpdate,
  EVENTS.conversationAddMember,
  EVENTS.conversationRemoveMember,
  EVENTS.workspaceCreate,
  EVENTS.workspaceAddMember,
  EVENTS.workspaceRemoveMember,
  EVENTS.filePush,
] as const;
export type WriteEventName = (typeof WRITE_EVENTS)[number];

/** The events a client may send; anything else is answered with `unknown_event`. */
export const CLIENT_EVENTS = [
  EVENTS.subscribe,
  EVENTS.unsubscribe,
  EVENTS.presenceList,
  EVENTS.typingUpdate,
  EVENTS.changesReceived,
  ...WRITE_EVENTS,
] as const;
export type ClientEventName = (typeof CLIENT_EVENTS)[number];

/** Every ack is either a success with its fields or an error with a stable code. */
export type Ack<T extends object = object> = ({ ok: true } & T) | { ok: false; error: WireError };
export type AckCallback<T extends object = object> = (ack: Ack<T>) => void;

export interface SubscribeResult {
  /** Newest seq of the stream when the subscription took effect. */
  readonly head: number;
  /**
   * At most how often this server wants the device's `changes:received` (ms; 0: never). The
   * same in every answer of one server; a client follows the latest unless its app chose.
   * Absent from servers that do not say (a client then uses `DEFAULT_RECEIVED_REPORT_MS`).
   */
  readonly receivedReportMs?: number;
}

export interface MessageSendResult {
  readonly id: string;
  readonly stream: StreamName;
  readonly seq: number;
}

/**
 * What a write answers: the stream it changed, and that stream's head once it committed (the
 * seq of its change; when nothing had to change, e.g. adding a member twice, the head then).
 * A device subscribed to `stream` has seen the write once it has seen `seq`.
 */
export interface WriteResult {
  readonly stream: StreamName;
  readonly seq: number;
}

/** What a create answers: the new (or, for a retried client id, the existing) row's id. */
export interface CreateResult extends WriteResult {
  readonly id: string;
}

/** What `receipt:read` answers: the device's receipt now (it never moves back). */
export interface ReceiptReadResult extends WriteResult {
  readonly readSeq: number;
}

/** What `file:push` answers: the file as the change left it. */
export interface FilePushResult extends WriteResult {
  readonly file: SyncFileData;
}

/** One device online in a stream. */
export interface PresenceMember {
  readonly userId: string;
  readonly deviceId: string;
  /** ISO time the device came online in the stream. */
  readonly since: string;
}

export interface PresenceListResult {
  readonly members: readonly PresenceMember[];
}

/** What `typing:update` answers: whether it was passed on, or fell within the throttle. */
export interface TypingUpdateResult {
  readonly forwarded: boolean;
}

export type ChangeEntity = keyof ChangeDataByEntity;
export type ChangeVerb = 'created' | 'updated' | 'deleted';
/** `<entity>.<verb>`, e.g. `message.created`. */
export type ChangeKind = `${ChangeEntity}.${ChangeVerb}`;

/** Every entity a change can be of, at run time (the keys of {@link ChangeDataByEntity}). */
export const CHANGE_ENTITIES = [
  'message',
  'conversation',
  'conversation_member',
  'user',
  'device',
  'workspace',
  'workspace_member',
  'file',
  'read_receipt',
  'sync_file',
] as const satisfies readonly ChangeEntity[];

const CHANGE_VERBS = ['created', 'updated', 'deleted'] as const satisfies readonly ChangeVerb[];
const CHANGE_KINDS: ReadonlySet<string> = new Set(
  CHANGE_ENTITIES.flatMap((entity) => CHANGE_VERBS.map((verb) => `${entity}.${verb}`)),
);

/** Whether `value` is a change kind this protocol defines, e.g. `message.created`. */
export function isChangeKind(value: string): value is ChangeKind {
  return CHANGE_KINDS.has(value);
}

/**
 * One committed change of a stream, delivered in seq order; `kind` tells the shape of `data`.
 * `ChangeEvent<'message'>` is a change of a message.
 */
export type ChangeEvent<E extends ChangeEntity = ChangeEntity> = {
  [K in E]: {
    readonly stream: StreamName;
    /** Dense per stream: 1, 2, 3, … in commit order. */
    readonly seq: number;
    readonly kind: `${K}.${ChangeVerb}`;
    readonly data: ChangeDataByEntity[K];
    /**
     * ISO time the writing transaction committed, to measure commit-to-receive latency. Where
     * PostgreSQL does not track commit timestamps (`track_commit_timestamp = off`) it is
     * `writtenAt`, the closest time PostgreSQL knows.
     */
    readonly committedAt: string;
    /** ISO time the change was written (inside its transaction, before the commit). */
    readonly writtenAt: string;
  };
}[E];

/**
 * What one `changes` frame carries: committed changes of one stream, in seq order, with no gap
 * between them. The gateway sends the changes pending for a room in one tick as one frame, and
 * replays on subscribe in frames of the same shape.
 */
export type ChangesFrame = readonly ChangeEvent[];

/** Narrows a change to one entity: `if (isChangeOf(change, 'message')) change.data.body`. */
export function isChangeOf<E extends ChangeEntity>(
  change: ChangeEvent,
  entity: E,
): change is Extract<ChangeEvent, { kind: `${E}.${ChangeVerb}` }> {
  return change.kind.startsWith(`${entity}.`);
}

/**
 * Why a stream must be refetched instead of resumed. `operator_request`: an operator asked for it
 * (`ccs-inspect resync`), e.g. after repairing data by hand.
 */
export type ResyncReason =
  'since_ahead_of_head' | 'since_before_retention' | 'slow_consumer' | 'operator_request';

export interface ResyncRequiredEvent {
  readonly stream: StreamName;
  readonly reason: ResyncReason;
  /** The stream's head now: refetch the stream's state, then subscribe with `since: head`. */
  readonly head: number;
}

/** Why the server ended a subscription on its own. */
export type UnsubscribeReason = 'access_revoked';

/**
 * The server ended a subscription: no change of `stream` follows this event. `access_revoked`:
 * the user was removed from the conversation or workspace (the change that removed them is the
 * last one delivered).
 */
export interface UnsubscribedEvent {
  readonly stream: StreamName;
  readonly reason: UnsubscribeReason;
}

/** Why the server is about to disconnect a socket. */
export type SessionEndReason =
  'device_revoked' | 'user_deleted' | 'token_expired' | 'slow_consumer' | 'flooding';

/**
 * Sent right before the server disconnects the socket. `device_revoked`, `user_deleted`: do not
 * reconnect with this token; `token_expired`: reconnect with a fresh token; `slow_consumer`: the
 * socket fell too far behind (each stream also got `resync_required`), reconnect and resume;
 * `flooding`: it kept sending past `rate_limited` answers, reconnect and honour `retryAfterMs`.
 */
export interface SessionEndedEvent {
  readonly reason: SessionEndReason;
  readonly message: string;
}

/**
 * A device came online in a stream (subscribed on some node) or went offline (unsubscribed,
 * disconnected, or its node stopped heartbeating). Ephemeral: no seq.
 */
export interface PresenceEvent {
  readonly stream: StreamName;
  readonly userId: string;
  readonly deviceId: string;
  readonly state: 'online' | 'offline';
}

/** Another device is typing in a conversation, or stopped. Ephemeral: no seq, never stored. */
export interface TypingEvent {
  readonly stream: StreamName;
  readonly userId: string;
  readonly deviceId: string;
  readonly typing: boolean;
  /** Show the indicator at most this long unless another `typing` event renews it. */
  readonly expiresInMs: number;
}

/** The payload and the ack's result of each write. */
export interface WritePayloads {
  'message:send': [MessageSendPayload, MessageSendResult];
  'message:edit': [MessageEditPayload, WriteResult];
  'message:delete': [MessageDeletePayload, WriteResult];
  'receipt:read': [ReceiptReadPayload, ReceiptReadResult];
  'conversation:create': [ConversationCreatePayload, CreateResult];
  'conversation:update': [ConversationUpdatePayload, WriteResult];
  'conversation:add_member': [ConversationMemberPayload, WriteResult];
  'conversation:remove_member': [ConversationMemberPayload, WriteResult];
  'workspace:create': [WorkspaceCreatePayload, CreateResult];
  'workspace:add_member': [WorkspaceMemberPayload, WriteResult];
  'workspace:remove_member': [WorkspaceMemberPayload, WriteResult];
  'file:push': [FilePushPayload, FilePushResult];
}

export type ClientToServerEvents = {
  subscribe: (payload: SubscribePayload, ack: AckCallback<SubscribeResult>) => void;
  unsubscribe: (payload: UnsubscribePayload, ack: AckCallback) => void;
  'presence:list': (payload: PresenceListPayload, ack: AckCallback<PresenceListResult>) => void;
  'typing:update': (payload: TypingUpdatePayload, ack: AckCallback<TypingUpdateResult>) => void;
  /** The one event a client may send without an ack: it is then not answered. */
  'changes:received': (payload: ChangesReceivedPayload, ack?: AckCallback) => void;
} & {
  [E in WriteEventName]: (
    payload: WritePayloads[E][0],
    ack: AckCallback<WritePayloads[E][1]>,
  ) => void;
};

export interface ServerToClientEvents {
  changes: (frame: ChangesFrame) => void;
  resync_required: (event: ResyncRequiredEvent) => void;
  unsubscribed: (event: UnsubscribedEvent) => void;
  session_ended: (event: SessionEndedEvent) => void;
  presence: (event: PresenceEvent) => void;
  typing: (event: TypingEvent) => void;
}
