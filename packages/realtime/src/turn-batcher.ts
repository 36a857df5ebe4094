/** Options of {@link TurnBatcher}. */
export interface TurnBatcherOptions<K, V> {
  /**
   * Loads the values of `keys` (distinct, at most `maxBatch`) at once; a key absent from the
   * map has no value. A rejection rejects every waiter of the batch.
   */
  readonly load: (keys: readonly K[]) => Promise<ReadonlyMap<K, V>>;
  /** Keys loaded at most per call. @default 500 */
  readonly maxBatch?: number;
  /**
   * Loads under way at most; while that many are, keys wait and join the next batch (which
   * grows with the load instead of the queue of the pool). One alone made every handshake or
   * subscribe of a busy node wait a whole round trip for the previous batch: with 4, devices
   * that connect and then subscribe at once did 29 % more of it a second. @default 4
   */
  readonly maxInFlight?: number;
}

interface Waiter<V> {
  readonly resolve: (value: V | undefined) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Answers `get(key)`s with one `load` for all the keys asked in the same turn of the event loop
 * (and those asked while `maxInFlight` loads are under way). A key only ever joins a load that
 * has not started: what a waiter is answered was read after it asked.
 */
export class TurnBatcher<K, V> {
  private pending = new Map<K, Waiter<V>[]>();
  private scheduled = false;
  private inFlight = 0;
  private readonly maxBatch: number;
  private readonly maxInFlight: number;

  constructor(private readonly options: TurnBatcherOptions<K, V>) {
    this.maxBatch = options.maxBatch ?? 500;
    this.maxInFlight = options.maxInFlight ?? 4;
  }

  /** The value of `key`, or undefined when the load found none. */
  get(key: K): Promise<V | undefined> {
    return new Promise((resolve, reject) => {
      const waiters = this.pending.get(key);
      if (waiters) waiters.push({ resolve, reject });
      else this.pending.set(key, [{ resolve, reject }]);
      if (this.pending.size >= this.maxBatch) this.flush();
      else this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  /** Starts a load of what waits, unless `maxInFlight` are under way (the last one flushes then). */
  private flush(): void {
    while (this.pending.size > 0 && this.inFlight < this.maxInFlight) this.start(this.take());
  }

  /** The oldest `maxBatch` keys waiting, and their waiters, taken out of `pending`. */
  private take(): Map<K, Waiter<V>[]> {
    if (this.pending.size <= this.maxBatch) {
      const all = this.pending;
      this.pending = new Map();
      return all;
    }
    const batch = new Map<K, Waiter<V>[]>();
    for (const [key, waiters] of this.pending) {
      if (batch.size === this.maxBatch) break;
      batch.set(key, waiters);
      this.pending.delete(key);
    }
    return batch;
  }

  private start(batch: Map<K, Waiter<V>[]>): void {
    this.inFlight++;
    let loading: Promise<ReadonlyMap<K, V>>;
    try {
      loading = this.options.load([...batch.keys()]);
    } catch (error) {
      loading = Promise.reject(error);
    }
    loading.then(
      (found) => {
        this.finished();
        for (const [key, waiters] of batch) {
          const value = found.get(key);
          for (const waiter of waiters) waiter.resolve(value);
        }
      },
      (error: unknown) => {
        this.finished();
        for (const waiters of batch.values()) for (const waiter of waiters) waiter.reject(error);
      },
    );
  }

  /** A load ended: what waited for a free slot goes in the next turn. */
  private finished(): void {
    this.inFlight--;
    if (this.pending.size > 0) this.schedule();
  }
}
