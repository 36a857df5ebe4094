/** Options of {@link TailTicker}. */
export interface TailTickerOptions {
  /** Pause between reads while changes flow. */
  readonly busyTickMs: number;
  /** Longest pause: once changes stop, the pause doubles after each empty read, up to this. */
  readonly idleTickMs: number;
  /** Changes flow while the last one was found less than this long ago. */
  readonly flowWindowMs: number;
  /** One read; `more` means a full batch (read again at once). */
  readonly read: () => Promise<{ readonly changes: number; readonly more: boolean }>;
  readonly onError: (error: unknown) => void;
}

/**
 * Paces the reads of a tail: back to back while a batch comes back full, `busyTickMs` apart
 * while changes flow (one was found within `flowWindowMs`, so an empty read between two writes
 * does not slow the next one down), then slower after each empty read, up to `idleTickMs`.
 * `wake()` brings the next read forward (a write was just committed somewhere).
 */
export class TailTicker {
  private timer: NodeJS.Timeout | undefined;
  private pauseMs: number;
  private reading: Promise<void> | undefined;
  private wokenWhileReading = false;
  private running = false;
  private lastChangeAt = -Infinity;

  constructor(private readonly options: TailTickerOptions) {
    this.pauseMs = options.idleTickMs;
  }

  /** Starts reading; the first read is queued before `start` returns. */
  start(): void {
    this.running = true;
    this.readNow();
  }

  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.reading;
  }

  wake(): void {
    if (!this.running) return;
    if (this.reading) this.wokenWhileReading = true;
    else if (this.pauseMs > this.options.busyTickMs) this.schedule(0);
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.readNow();
    }, delayMs);
  }

  private readNow(): void {
    this.reading = this.tick().finally(() => (this.reading = undefined));
  }

  private async tick(): Promise<void> {
    this.wokenWhileReading = false;
    let next: number;
    try {
      const { changes, more } = await this.options.read();
      const { busyTickMs, idleTickMs, flowWindowMs } = this.options;
      const now = performance.now();
      if (changes > 0) this.lastChangeAt = now;
      this.pauseMs =
        now - this.lastChangeAt < flowWindowMs
          ? busyTickMs
          : Math.min(idleTickMs, Math.max(busyTickMs, this.pauseMs * 2));
      next = more || this.wokenWhileReading ? 0 : this.pauseMs;
    } catch (error) {
      this.options.onError(error);
      this.pauseMs = this.options.idleTickMs;
      next = this.pauseMs;
    }
    if (this.running) this.schedule(next);
  }
}
