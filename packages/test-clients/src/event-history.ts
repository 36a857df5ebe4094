import type { EventDirection, RecordedEvent } from './recorded-event.js';

/** How a watch ends: with a value, or with an error. */
export type WatchOutcome<T> = { readonly value: T } | { readonly error: Error };

/** What {@link EventHistory.watch} does with each event and when time runs out. */
export interface WatchSpec<T> {
  /** Also look at the events recorded before the watch started. */
  readonly replay: boolean;
  readonly timeoutMs: number;
  /** Called for each event; an outcome ends the watch. A throw ends it with that error. */
  readonly step: (entry: RecordedEvent) => WatchOutcome<T> | undefined;
  readonly onTimeout: () => WatchOutcome<T>;
  /** Says what is awaited, for the error of a watch cancelled by `cancelAll`. */
  readonly description: string;
}

/** Filter of {@link EventHistory.select}; every given field must match. */
export interface HistoryQuery {
  /** @default any direction */
  readonly direction?: EventDirection;
  /** @default any event */
  readonly event?: string;
  /** @default every entry */
  readonly where?: (entry: RecordedEvent) => boolean;
}

interface Watch {
  readonly step: (entry: RecordedEvent) => void;
  readonly cancel: (error: (description: string) => Error) => void;
}

/**
 * Every event in and out, oldest first, and the waits on it. A wait looks at each event once
 * (replay, then live), so waiting on a long history stays linear.
 */
export class EventHistory {
  readonly entries: RecordedEvent[] = [];
  private readonly watches = new Set<Watch>();

  record(direction: EventDirection, event: string, args: readonly unknown[]): void {
    const entry: RecordedEvent = { direction, event, args, at: Date.now() };
    this.entries.push(entry);
    for (const watch of [...this.watches]) watch.step(entry);
  }

  select(query: HistoryQuery): RecordedEvent[] {
    return this.entries.filter(
      (entry) =>
        (query.direction === undefined || entry.direction === query.direction) &&
        (query.event === undefined || entry.event === query.event) &&
        (query.where?.(entry) ?? true),
    );
  }

  watch<T>(spec: WatchSpec<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let done = false;
      const finish = (outcome: WatchOutcome<T>): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        this.watches.delete(watch);
        if ('error' in outcome) reject(outcome.error);
        else resolve(outcome.value);
      };
      const step = (entry: RecordedEvent): void => {
        if (done) return;
        try {
          const outcome = spec.step(entry);
          if (outcome) finish(outcome);
        } catch (error) {
          finish({ error: error instanceof Error ? error : new Error(String(error)) });
        }
      };
      const watch: Watch = {
        step,
        cancel: (makeError) => finish({ error: makeError(spec.description) }),
      };
      const timer = setTimeout(() => finish(spec.onTimeout()), spec.timeoutMs);
      this.watches.add(watch);
      if (spec.replay) for (const entry of [...this.entries]) step(entry);
    });
  }

  /** Ends every pending watch with the error `makeError` builds from what it awaited. */
  cancelAll(makeError: (description: string) => Error): void {
    for (const watch of [...this.watches]) watch.cancel(makeError);
  }
}
