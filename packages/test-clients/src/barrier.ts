import { BarrierTimeoutError } from './barrier-timeout-error.js';

/** Options of {@link Barrier}. */
export interface BarrierOptions {
  /** How long the first party waits for the last, in ms. @default 5000 */
  readonly timeout?: number;
}

/**
 * Lets `parties` concurrent tasks start a step together: each `await barrier.arrive()` resolves
 * once all of them have arrived. Single use: an arrival after that resolves at once.
 *
 * @example
 * const barrier = fleet.barrier();
 * await fleet.each(async (client) => {
 *   await client.emitWithAck('subscribe', { stream });
 *   await barrier.arrive(); // every member is subscribed
 *   await client.emitWithAck('message:send', payload);
 * });
 */
export class Barrier {
  private count = 0;
  private readonly released: Promise<void>;
  private release!: () => void;
  private fail!: (error: Error) => void;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    readonly parties: number,
    private readonly options: BarrierOptions = {},
  ) {
    this.released = new Promise<void>((resolve, reject) => {
      this.release = resolve;
      this.fail = reject;
    });
    // Every party awaits it; no party may leave it unhandled when it rejects.
    this.released.catch(() => undefined);
    if (parties <= 0) this.release();
  }

  /** How many parties have arrived so far. */
  get arrived(): number {
    return this.count;
  }

  /** Resolves when all parties have arrived; rejects with a {@link BarrierTimeoutError}. */
  arrive(): Promise<void> {
    this.count++;
    if (this.count === 1 && this.parties > 1) {
      const timeout = this.options.timeout ?? 5000;
      this.timer = setTimeout(
        () => this.fail(new BarrierTimeoutError(this.parties, this.count, timeout)),
        timeout,
      );
    }
    if (this.count >= this.parties) {
      clearTimeout(this.timer);
      this.release();
    }
    return this.released;
  }
}
