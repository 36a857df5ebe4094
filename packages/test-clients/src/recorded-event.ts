/** One event a test client sent or received, with the time it happened. */
export interface RecordedEvent {
  readonly direction: 'in' | 'out';
  readonly event: string;
  readonly args: readonly unknown[];
  /** `Date.now()` when it was sent or received. */
  readonly at: number;
}
