import type { ChangesReceivedPayload } from './received-payloads.js';
import type { StreamName } from './streams.js';

/**
 * How often at most a device reports by default (`@ccs/client`'s `receivedReportMs`): once a
 * second keeps each subscriber's lag as operators see it at most a second old, and costs the
 * gateway one small event per device per second while changes flow (see the delivery bench's
 * device-acks variant).
 */
export const DEFAULT_RECEIVED_REPORT_MS = 1000;

/** The clock, timers and randomness a {@link ReceivedReporter} runs on (hand-moved ones in tests). */
export interface ReporterClock {
  now(): number;
  setTimeout(run: () => void, ms: number): unknown;
  clearTimeout(timer: unknown): void;
  /** In [0, 1). */
  random(): number;
}

const systemClock: ReporterClock = {
  now: () => Date.now(),
  setTimeout: (run, ms) => setTimeout(run, ms),
  clearTimeout: (timer) => clearTimeout(timer as ReturnType<typeof setTimeout>),
  random: () => Math.random(),
};

/**
 * A device's `changes:received` reports: at most one per `intervalMs`, naming the highest seq
 * held of each stream that received since the last report and how long it has been held
 * (`heldMs`, so the server times the commit to the device's receipt, not to the report). The
 * first change after a quiet interval is reported after a random part of the interval, so the
 * devices of a room that all got the same change at the same moment do not all report at that
 * moment, nor in the same part of every interval after it (their reports keep that phase while
 * changes keep coming, so the server gets them evenly over time); changes that come meanwhile
 * leave with it.
 */
export class ReceivedReporter {
  private readonly held = new Map<StreamName, { seq: number; at: number }>();
  private readonly unreported = new Set<StreamName>();
  private timer: unknown;
  private lastReportAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly intervalMs: number,
    private readonly send: (payload: ChangesReceivedPayload) => void,
    private readonly clock: ReporterClock = systemClock,
  ) {
    if (!(intervalMs > 0)) throw new RangeError(`intervalMs must be positive, got ${intervalMs}`);
  }

  /** The device now holds `seq` of `stream` (and every seq before it). */
  received(stream: StreamName, seq: number): void {
    const before = this.held.get(stream);
    if (before !== undefined && seq <= before.seq) return;
    this.held.set(stream, { seq, at: this.clock.now() });
    this.unreported.add(stream);
    if (this.timer !== undefined) return;
    const spread = this.clock.random() * this.intervalMs;
    const wait = Math.max(spread, this.lastReportAt + this.intervalMs - this.clock.now());
    this.timer = this.clock.setTimeout(() => this.report(), wait);
  }

  /** The device left `stream`: it is neither reported nor remembered any more. */
  forget(stream: StreamName): void {
    this.held.delete(stream);
    this.unreported.delete(stream);
  }

  /** Drops the pending report and what it would have said (the device stops reporting). */
  stop(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.unreported.clear();
  }

  private report(): void {
    this.timer = undefined;
    const now = this.clock.now();
    this.lastReportAt = now;
    const streams: Record<StreamName, number> = {};
    const heldMs: Record<StreamName, number> = {};
    for (const stream of this.unreported) {
      const { seq, at } = this.held.get(stream)!;
      streams[stream] = seq;
      heldMs[stream] = Math.round(now - at);
    }
    this.unreported.clear();
    if (Object.keys(streams).length > 0) this.send({ streams, heldMs });
  }
}
