/** Longest delay `setTimeout` takes (about 24.8 days); longer ones fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Calls `onDue(item)` at each item's time (however far away; never synchronously), with one
 * timer for all of them instead of one per item: items due at the same millisecond share an
 * entry (device tokens expire on whole seconds).
 */
export class Deadlines<T> {
  private readonly due = new Map<number, Set<T>>();
  private timer: NodeJS.Timeout | undefined;
  /** When the timer fires; Infinity while it is not armed. */
  private armedFor = Infinity;

  constructor(private readonly onDue: (item: T) => void) {}

  /** Calls `onDue(item)` at `epochMs`, unless {@link remove}d first. */
  add(item: T, epochMs: number): void {
    const items = this.due.get(epochMs);
    if (items) items.add(item);
    else this.due.set(epochMs, new Set([item]));
    if (epochMs < this.armedFor) this.arm(epochMs);
  }

  /** Forgets `item`, added for `epochMs`. */
  remove(item: T, epochMs: number): void {
    const items = this.due.get(epochMs);
    if (items?.delete(item) && items.size === 0) this.due.delete(epochMs);
  }

  /** Forgets every item and stops the timer. */
  close(): void {
    clearTimeout(this.timer);
    this.armedFor = Infinity;
    this.due.clear();
  }

  private arm(epochMs: number): void {
    clearTimeout(this.timer);
    this.armedFor = epochMs;
    const delay = Math.max(0, Math.min(epochMs - Date.now(), MAX_TIMER_MS));
    this.timer = setTimeout(() => this.fire(), delay);
  }

  private fire(): void {
    this.timer = undefined;
    this.armedFor = Infinity;
    const now = Date.now();
    let next = Infinity;
    const dueNow: T[] = [];
    for (const [epochMs, items] of this.due) {
      if (epochMs <= now) {
        this.due.delete(epochMs);
        dueNow.push(...items);
      } else if (epochMs < next) {
        next = epochMs;
      }
    }
    if (next < Infinity) this.arm(next);
    for (const item of dueNow) this.onDue(item);
  }
}
