/** Options of {@link TailTicker}. */
export interface TailTickerOptions {
  /** Pause after a read that found changes. */
  readonly busyTickMs: number;
  /** Longest pause: after each empty read the pause doubles, up to this. */
  readonly idleTickMs: number;
  /** One read; `more` means a full batch (read again at once). */
  readonly read: () => Promise<{ readonly changes: number; readonly more: boolean }>;
  readonly onError: (error: unknown) => void;
}

/**
 * Paces the reads of a tail: back to back while a batch comes back full, `busyTickMs` apart
 * while changes flow, then slower after each empty read, up to `idleTickMs`. `wake()` brings
 * the next read forward (a write was just committed somewhere).
 */
export class TailTicker {
  private timer: NodeJS.Timeout | undefined;
  private pauseMs: number;
  private reading: Promise<void> | undefined;
  private wokenWhileReading = false;
  private running = false;

  constructor(private readonly options: TailTickerOptions) {
    this.pauseMs = options.idleTickMs;
  }

  start(): void {
    this.running = true;
    this.schedule(0);
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
      this.reading = this.tick().finally(() => (this.reading = undefined));
    }, delayMs);
  }

  private async tick(): Promise<void> {
    this.wokenWhileReading = false;
    let next: number;
    try {
      const { changes, more } = await this.options.read();
      const { busyTickMs, idleTickMs } = this.options;
      this.pauseMs = changes > 0 ? busyTickMs : Math.min(idleTickMs, this.pauseMs * 2);
      next = more || this.wokenWhileReading ? 0 : this.pauseMs;
    } catch (error) {
      this.options.onError(error);
      this.pauseMs = this.options.idleTickMs;
      next = this.pauseMs;
    }
    if (this.running) this.schedule(next);
  }
}
