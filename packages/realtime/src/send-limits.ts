import pLimit, { type LimitFunction } from 'p-limit';
import { RealtimeError } from './realtime-error.js';

/** One device's bucket: tokens left at `at` (epoch ms). */
interface Bucket {
  tokens: number;
  at: number;
}

/**
 * Token buckets, one per key (a device): `take(key)` spends a token, refilled at `ratePerSecond`
 * up to `burst`. Buckets that refilled completely are forgotten (a full bucket and no bucket
 * are the same), so memory follows the keys active in the last `burst / ratePerSecond` seconds.
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
  ) {
    if (!(ratePerSecond > 0) || !(burst >= 1)) {
      throw new RangeError(
        `token bucket needs rate > 0 and burst >= 1 (got ${ratePerSecond}, ${burst})`,
      );
    }
    this.sweeper = setInterval(() => this.sweep(), Math.max(1000, (burst / ratePerSecond) * 1000));
    this.sweeper.unref();
  }

  /** Spends one token of `key`: 0 when there was one, else the milliseconds until there is. */
  take(key: string, now = Date.now()): number {
    const bucket = this.refilled(key, now);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - bucket.tokens) / this.ratePerSecond) * 1000);
  }

  close(): void {
    clearInterval(this.sweeper);
  }

  private refilled(key: string, now: number): Bucket {
    let bucket = this.buckets.get(key);
    if (!bucket) {
      bucket = { tokens: this.burst, at: now };
      this.buckets.set(key, bucket);
      return bucket;
    }
    const elapsed = Math.max(0, now - bucket.at) / 1000;
    bucket.tokens = Math.min(this.burst, bucket.tokens + elapsed * this.ratePerSecond);
    bucket.at = now;
    return bucket;
  }

  private sweep(now = Date.now()): void {
    for (const [key, bucket] of this.buckets) {
      const tokens = bucket.tokens + ((now - bucket.at) / 1000) * this.ratePerSecond;
      if (tokens >= this.burst) this.buckets.delete(key);
    }
  }
}

/**
 * The gateway's writes to the database: at most `concurrency` at once, at most `maxQueued`
 * waiting; past that a send is refused with `rate_limited` at once instead of queueing without
 * bound (a flood then costs the flooder, not the pool that others' reads need).
 */
export class SendQueue {
  private readonly limit: LimitFunction;

  constructor(
    concurrency: number,
    private readonly maxQueued: number,
    /** What a refused send is told to wait before it retries. */
    private readonly retryAfterMs: number,
  ) {
    this.limit = pLimit(concurrency);
  }

  /** Runs `task` when a slot frees; refuses it when `maxQueued` tasks wait already. */
  run<T>(task: () => Promise<T>): Promise<T> {
    // p-limit counts a task as pending until a microtask after the call, even with a free slot.
    if (
      this.limit.activeCount + this.limit.pendingCount >=
      this.limit.concurrency + this.maxQueued
    ) {
      return Promise.reject(
        rateLimited(
          `the server has ${this.maxQueued} sends waiting for the database; retry later`,
          this.retryAfterMs,
        ),
      );
    }
    return this.limit(task);
  }

  /** Sends waiting for a slot. */
  get waiting(): number {
    return this.limit.pendingCount;
  }
}

/** A `rate_limited` error telling the client how long to wait. */
export function rateLimited(message: string, retryAfterMs: number): RealtimeError {
  return new RealtimeError('rate_limited', message, { retryAfterMs });
}
