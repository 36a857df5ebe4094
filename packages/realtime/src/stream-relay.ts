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
  /**
   * Replays what the subscriber missed after `since` through `replay`, then calls `join` before
   * any later change of the stream is broadcast.
   */
  attach(
    stream: StreamName,
    since: number | undefined,
    replay: (changes: readonly ChangeEvent[]) => void,
    join: () => void,
  ): Promise<AttachResult>;
  /** Removes a subscriber added by `attach`. */
  detach(stream: StreamName): void;
}

/** What a relay is given to deliver changes of one stream to that stream's local subscribers. */
export type BroadcastChanges = (stream: StreamName, changes: readonly ChangeEvent[]) => void;
