/**
 * Which way an event went: `in` from the server, `out` to the server, `ack` the server's answer
 * to an `out` event (its `event` is the name of the event it answers).
 */
export type EventDirection = 'in' | 'out' | 'ack';

/** One event a test client sent or received, with the time it happened. */
export interface RecordedEvent {
  readonly direction: EventDirection;
  readonly event: string;
  readonly args: readonly unknown[];
  /** `Date.now()` when it was sent or received. */
  readonly at: number;
}
