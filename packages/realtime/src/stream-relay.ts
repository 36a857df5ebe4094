import type { ChangeEvent, ResyncReason, StreamName } from '@ccs/protocol';

/** Result of {@link StreamRelay.attach}. */
export type AttachResult =
  | { readonly ok: true; readonly head: number }
  | { readonly ok: false; readonly reason: ResyncReason; readonly head: number };

/**
 * What the gateway needs from a change relay: subscribers attach to streams and get every
 * committed change after `since` once, in seq order, first replayed and then live. The default
 * is {@link ChangeRelay}; other capture modes (logical replication) would implement this too.
 */
export interface StreamRelay {
  start(): void;
  stop(): Promise<void>;
  /** A write just committed: look for changes soon. A hint only; delivery never depends on it. */
  wake(): void;
  /** Streams with at least one local subscriber. */
  readonly trackedStreams: readonly StreamName[];
  /**
   * Replays what the subscriber missed after `since` through `replay` (awaiting each call, so
   * the subscriber sets the pace), then calls `join` before any later change of the stream is
   * broadcast; never calls `join` once released.
   */
  attach(
    stream: StreamName,
    since: number | undefined,
    replay: ReplayChanges,
    join: () => void,
  ): RelayAttachment;
}

/** Hands a subscriber changes it missed; the next call waits for the promise returned. */
export type ReplayChanges = (changes: readonly ChangeEvent[]) => void | Promise<void>;

/** One subscriber's hold on a stream; `release()` is idempotent and must be called once done. */
export interface RelaySubscription {
  release(): void;
}

/** What {@link StreamRelay.attach} returns: the hold at once, the outcome when replayed. */
export interface RelayAttachment {
  readonly subscription: RelaySubscription;
  readonly result: Promise<AttachResult>;
}

/** What a relay is given to deliver changes of one stream to that stream's local subscribers. */
export type BroadcastChanges = (stream: StreamName, changes: readonly ChangeEvent[]) => void;

/**
 * What a relay is given to see every change it reads, of every stream, before delivering any of
 * them (the gateway ends sessions whose access a change takes away).
 */
export type ObserveChanges = (changes: readonly ChangeEvent[]) => void;

/** What a relay is given to tell a stream's local subscribers to refetch it. */
export type RequestResync = (stream: StreamName, reason: ResyncReason, head: number) => void;
