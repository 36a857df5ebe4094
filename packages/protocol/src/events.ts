import type { WireError } from './error-codes.js';
import type { MessageSendPayload, SubscribePayload, UnsubscribePayload } from './payloads.js';
import type { StreamName } from './streams.js';

/** Event names, one place: the gateway, the SDK and the test clients all use these. */
export const EVENTS = {
  subscribe: 'subscribe',
  unsubscribe: 'unsubscribe',
  messageSend: 'message:send',
  change: 'change',
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

/** Kinds of change; `<table>.<verb>`. */
export type ChangeKind = 'message.created';

export interface MessageData {
  readonly id: string;
  readonly conversationId: string;
  readonly authorId: string;
  readonly deviceId: string;
  readonly clientId: string;
  readonly body: string;
  readonly createdAt: string;
}

/** One committed change of a stream, delivered in seq order. */
export interface ChangeEvent {
  readonly stream: StreamName;
  /** Dense per stream: 1, 2, 3, … in commit order. */
  readonly seq: number;
  readonly kind: ChangeKind;
  readonly data: MessageData;
  /** ISO time the change was written, to measure commit-to-receive latency. */
  readonly committedAt: string;
}

export interface ResyncRequiredEvent {
  readonly stream: StreamName;
  readonly reason: string;
}

export interface ClientToServerEvents {
  subscribe: (payload: SubscribePayload, ack: AckCallback<SubscribeResult>) => void;
  unsubscribe: (payload: UnsubscribePayload, ack: AckCallback) => void;
  'message:send': (payload: MessageSendPayload, ack: AckCallback<MessageSendResult>) => void;
}

export interface ServerToClientEvents {
  change: (event: ChangeEvent) => void;
  resync_required: (event: ResyncRequiredEvent) => void;
}
