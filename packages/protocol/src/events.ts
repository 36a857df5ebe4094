import type { WireError } from './error-codes.js';
import type { MessageSendPayload, SubscribePayload, UnsubscribePayload } from './payloads.js';
import type { ChangeDataByEntity } from './change-data.js';
import type { StreamName } from './streams.js';

/** Event names, one place: the gateway, the SDK and the test clients all use these. */
export const EVENTS = {
  subscribe: 'subscribe',
  unsubscribe: 'unsubscribe',
  messageSend: 'message:send',
  changes: 'changes',
  resyncRequired: 'resync_required',
} as const;

/** Every ack is either a success with its fields or an error with a stable code. */
export type Ack<T extends object = object> = ({ ok: true } & T) | { ok: false; error: WireError };
export type AckCallback<T extends object = object> = (ack: Ack<T>) => void;

export interface SubscribeResult {
  /** Newest seq of the stream when the subscription took effect. */
  readonly head: number;
}

export interface MessageSendResult {
  readonly id: string;
  readonly stream: StreamName;
  readonly seq: number;
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

/** Why a stream must be refetched instead of resumed. */
export type ResyncReason = 'since_ahead_of_head' | 'since_before_retention' | 'slow_consumer';

export interface ResyncRequiredEvent {
  readonly stream: StreamName;
  readonly reason: ResyncReason;
  /** The stream's head now: refetch the stream's state, then subscribe with `since: head`. */
  readonly head: number;
}

export interface ClientToServerEvents {
  subscribe: (payload: SubscribePayload, ack: AckCallback<SubscribeResult>) => void;
  unsubscribe: (payload: UnsubscribePayload, ack: AckCallback) => void;
  'message:send': (payload: MessageSendPayload, ack: AckCallback<MessageSendResult>) => void;
}

export interface ServerToClientEvents {
  changes: (frame: ChangesFrame) => void;
  resync_required: (event: ResyncRequiredEvent) => void;
}
