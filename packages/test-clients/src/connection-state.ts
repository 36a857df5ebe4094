/**
 * Where a {@link TestClient}'s connection is:
 * - `idle`: created, never opened;
 * - `connecting`: `open()` or `reconnect()` called, handshake under way;
 * - `connected`: handshake accepted;
 * - `reconnecting`: dropped, socket.io retries on its own (only with `reconnection: true`);
 * - `disconnected`: closed, refused or dropped for good; see `disconnectReason`.
 */
export type ConnectionState = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'disconnected';

/** One change of {@link ConnectionState}, in the order they happened. */
export interface StateTransition {
  /** Position in `transitions`, usable as `waitForState`'s `since`. */
  readonly index: number;
  readonly from: ConnectionState;
  readonly to: ConnectionState;
  /** `Date.now()` when it happened. */
  readonly at: number;
  /** Why, when known: socket.io's disconnect reason or the `connect_error` message. */
  readonly reason?: string;
}
