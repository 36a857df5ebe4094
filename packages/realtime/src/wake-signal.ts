/**
 * Carries "a write committed" between gateways, so that their relays read change_log at once
 * instead of at their next tick. It carries no data: a lost signal only delays delivery.
 */
export interface WakeSignal {
  /** Tells the other gateways (and this one) that a write committed. */
  notify(): void;
  /** Calls `listener` whenever any gateway notifies; returns the unsubscribe. */
  subscribe(listener: () => void): () => void;
}
