import type { ChangesReceivedPayload } from './received-payloads.js';
import type { StreamName } from './streams.js';

/**
 * How often at most a device reports by default: what a gateway asks of its devices in every
 * subscribe answer (`receivedReportMs`) unless configured otherwise, and what a client uses
 * until a server says. Every 5 s (as often as Kafka consumers commit their offsets by default).
 * The inspector shows when each device last reported, so an operator knows how old its position
 * is; a gateway can ask for more often (`CCS_DEVICE_REPORT_MS`) at one inbound event per device
 * per interval while changes flow.
 */
export const DEFAULT_RECEIVED_REPORT_MS = 5000;

/** The clock, timers and randomness a {@link ReceivedReporter} runs on (hand-moved ones in tests). */
export interface ReporterClock {
  now(): number;
  setTimeout(run: () => void, ms: number): unknown;
  clearTimeout(timer: unknown): void;
  /** Runs `run` once the current task is over (a microtask), before any timer. */
  defer(run: () => void): void;
  /** In [0, 1). */
  random(): number;
}

const systemClock: ReporterClock = {
  now: () => Date.now(),
  setTimeout: (run, ms) => setTimeout(run, ms),
  clearTimeout: (timer) => clearTimeout(timer as ReturnType<typeof setTimeout>),
  defer: (run) => queueMicrotask(run),
  random: () => Math.random(),
};

/**
 * A device's `changes:received` reports: at most one per `intervalMs`, naming the highest seq
 * held of each stream that received since the last report and how long it has been held
 * (`heldMs`, so the server times the commit to the device's receipt, not to the report).
 *
 * A report leaves when a change arrives once the interval is over, right after the frames of
 * that read: the gateway has just written to the device and is likely still writing that change
 * to the room's other devices, and the report rides on the TCP acknowledgement the device sends
 * for the frame anyway. A report on a timer of its own lands on a gateway that is often idle
 * between deliveries and must wake for it: in the delivery bench (a small VM, where waking costs
 * more than the work) that cost the gateway ~165 µs a report, riding on a change 80-160 µs.
 * Only when the changes stop before the interval is over does a timer send the rest, half an
 * interval after it ends.
 *
 * A device's first interval ends after a random part of an interval: the devices that all
 * started at once (a gateway restarted, a bench began) would otherwise all report on the same
 * frames from then on, every interval, all at once.
 */
export class ReceivedReporter {
  private readonly held = new Map<StreamName, { seq: number; at: number }>();
  private readonly unreported = new Set<StreamName>();
  /** The report of the rest, when changes stopped before the interval was over. */
  private timer: unknown;
  private deferred = false;
  private lastReportAt = Number.NEGATIVE_INFINITY;
  private intervalMs: number;

  /** `intervalMs`: at most one report per this many ms; 0 reports nothing (until changed). */
  constructor(
    intervalMs: number,
    private readonly send: (payload: ChangesReceivedPayload) => void,
    private readonly clock: ReporterClock = systemClock,
  ) {
    this.intervalMs = checkedReportMs(intervalMs);
  }

  /**
   * Reports at most every `intervalMs` from now on (a server asked for it); 0 stops reporting
   * and drops what the pending report would have said.
   */
  reportEvery(intervalMs: number): void {
    this.intervalMs = checkedReportMs(intervalMs);
    if (this.intervalMs === 0) this.stop();
  }

  /** The device now holds `seq` of `stream` (and every seq before it). */
  received(stream: StreamName, seq: number): void {
    const now = this.clock.now();
    const before = this.held.get(stream);
    if (before !== undefined && seq <= before.seq) return;
    if (before) {
      before.seq = seq;
      before.at = now;
    } else {
      this.held.set(stream, { seq, at: now });
    }
    if (this.intervalMs === 0) return;
    this.unreported.add(stream);
    if (this.deferred) return;
    if (this.lastReportAt === Number.NEGATIVE_INFINITY) {
      // The first interval ends after a random part of one.
      this.lastReportAt = now - this.intervalMs * (1 - this.clock.random());
    }
    const due = this.lastReportAt + this.intervalMs;
    if (now >= due) {
      // After the rest of this read's frames, so that one report names all their streams.
      this.deferred = true;
      this.clock.defer(() => {
        this.deferred = false;
        this.report();
      });
    } else if (this.timer === undefined) {
      this.timer = this.clock.setTimeout(() => this.report(), due + this.intervalMs / 2 - now);
    }
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
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    if (this.unreported.size === 0) return;
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
    this.send({ streams, heldMs });
  }
}

/**
 * `ms` when it can be a report interval (a whole number of ms, 0 or more: 0 is no reports), else
 * a RangeError naming it as `name`.
 */
export function checkedReportMs(ms: number, name = 'intervalMs'): number {
  if (!(Number.isInteger(ms) && ms >= 0)) {
    throw new RangeError(`${name} must be a whole number of ms, 0 or more, got ${ms}`);
  }
  return ms;
}
