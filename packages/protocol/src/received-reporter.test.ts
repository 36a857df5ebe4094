import type { StreamName } from './streams.js';
import { describe, expect, it } from 'vitest';
import type { ChangesReceivedPayload } from './received-payloads.js';
import { ReceivedReporter, type ReporterClock } from './received-reporter.js';

/** A clock the test moves by hand; due timers run in order when it does. */
class ManualClock implements ReporterClock {
  private time = 1_000_000;
  private readonly timers = new Map<number, { at: number; run: () => void }>();
  private readonly microtasks: (() => void)[] = [];
  private nextId = 1;
  /** What `random()` answers next (where a device's first interval ends). */
  nextRandom = 0;

  now(): number {
    return this.time;
  }

  setTimeout(run: () => void, ms: number): number {
    const id = this.nextId++;
    this.timers.set(id, { at: this.time + ms, run });
    return id;
  }

  clearTimeout(timer: unknown): void {
    this.timers.delete(timer as number);
  }

  defer(run: () => void): void {
    this.microtasks.push(run);
  }

  random(): number {
    return this.nextRandom;
  }

  get pending(): number {
    return this.timers.size;
  }

  /** The end of the current task: what was deferred runs. */
  settle(): void {
    while (this.microtasks.length > 0) this.microtasks.shift()!();
  }

  advance(ms: number): void {
    this.settle();
    const until = this.time + ms;
    for (;;) {
      const due = [...this.timers].filter(([, timer]) => timer.at <= until);
      if (due.length === 0) break;
      due.sort(([, a], [, b]) => a.at - b.at);
      const [id, timer] = due[0]!;
      this.timers.delete(id);
      this.time = timer.at;
      timer.run();
      this.settle();
    }
    this.time = until;
  }
}

const a = 'conversation:a' as StreamName;
const b = 'conversation:b' as StreamName;
const INTERVAL = 500;

function reporter(intervalMs = INTERVAL) {
  const clock = new ManualClock();
  const sent: ({ at: number } & ChangesReceivedPayload)[] = [];
  const reports = new ReceivedReporter(
    intervalMs,
    (payload) => sent.push({ at: clock.now() - 1_000_000, ...payload }),
    clock,
  );
  return { clock, sent, reports };
}

/** `stream` gets a change every `everyMs` from `from` to `to` (ms after the start); seqs count up. */
function feed(
  { clock, reports }: ReturnType<typeof reporter>,
  stream: StreamName,
  from: number,
  to: number,
  everyMs: number,
): void {
  clock.advance(from - (clock.now() - 1_000_000));
  for (let at = from, seq = 1; at <= to; at += everyMs, seq++) {
    reports.received(stream, seq);
    clock.advance(everyMs);
  }
}

describe('ReceivedReporter', () => {
  it('reports with the first change past the end of an interval, once the read it came in is over', () => {
    const { clock, sent, reports } = reporter();
    clock.nextRandom = 0.25; // the first interval ends 0.25 × 500 ms after the first change
    reports.received(a, 1);
    clock.advance(124);
    reports.received(a, 2); // not yet: it waits for the next change past 125 ms
    clock.advance(6);
    expect(sent).toEqual([]);
    // One read brings two streams' frames: one report names both.
    reports.received(a, 3);
    reports.received(b, 1);
    expect(sent).toEqual([]);
    clock.settle();
    expect(sent).toEqual([{ at: 130, streams: { [a]: 3, [b]: 1 }, heldMs: { [a]: 0, [b]: 0 } }]);
  });

  it('sends at most one report per interval under a steady stream of changes', () => {
    const device = reporter();
    feed(device, a, 0, 2000, 1);
    // The first change ends a first interval of 0 ms; then the first change at or after each
    // next end, 500 ms apart.
    expect(device.sent.map((report) => report.at)).toEqual([0, 500, 1000, 1500, 2000]);
    expect(device.sent.at(-1)).toMatchObject({ streams: { [a]: 2001 }, heldMs: { [a]: 0 } });
  });

  it('spreads the devices that started at once, and each keeps its place while changes come', () => {
    const times = [0, 0.25, 0.5, 0.99].map((random) => {
      const device = reporter();
      device.clock.nextRandom = random;
      feed(device, a, 0, 1600, 10);
      return device.sent.map((report) => report.at);
    });
    expect(times).toEqual([
      [0, 500, 1000, 1500],
      [130, 630, 1130],
      [250, 750, 1250],
      [500, 1000, 1500],
    ]);
  });

  it('sends what is left half an interval after the end of the interval the changes stopped in', () => {
    const { clock, sent, reports } = reporter();
    clock.nextRandom = 0.5; // that interval ends at 250 ms
    reports.received(a, 1);
    clock.advance(499);
    expect(sent).toEqual([]);
    clock.advance(1);
    expect(sent).toEqual([{ at: 500, streams: { [a]: 1 }, heldMs: { [a]: 500 } }]);
    expect(clock.pending).toBe(0);
  });

  it('names only the streams that received since the last report, and never lowers a seq', () => {
    const { clock, sent, reports } = reporter();
    reports.received(a, 5);
    reports.received(b, 3);
    clock.advance(1000);
    reports.received(b, 2);
    reports.received(a, 6);
    clock.advance(1000);
    expect(sent.map((report) => report.streams)).toEqual([{ [a]: 5, [b]: 3 }, { [a]: 6 }]);
  });

  it('forgets a stream the device left, and sends nothing when nothing is left to say', () => {
    const { clock, sent, reports } = reporter();
    reports.received(a, 1);
    reports.forget(a);
    clock.advance(1000);
    expect(sent).toEqual([]);
    reports.received(a, 1); // a new subscription starts over
    clock.advance(1000);
    expect(sent.map((report) => report.streams)).toEqual([{ [a]: 1 }]);
  });

  it('drops the pending report when stopped', () => {
    const { clock, sent, reports } = reporter();
    clock.nextRandom = 0.5;
    reports.received(a, 1);
    expect(clock.pending).toBe(1);
    reports.stop();
    expect(clock.pending).toBe(0);
    clock.advance(1000);
    expect(sent).toEqual([]);
    // So is one due at the end of the read.
    reports.received(a, 2);
    reports.stop();
    clock.settle();
    expect(sent).toEqual([]);
  });

  it('follows a new interval from the last report on (a server asked for it)', () => {
    const device = reporter();
    feed(device, a, 0, 1000, 1);
    expect(device.sent.map((report) => report.at)).toEqual([0, 500, 1000]);
    device.reports.reportEvery(2000);
    feed(device, a, 1001, 7000, 1);
    expect(device.sent.map((report) => report.at)).toEqual([0, 500, 1000, 3000, 5000, 7000]);
  });

  it('reports nothing at interval 0, and starts again at the next change once asked', () => {
    const { clock, sent, reports } = reporter();
    reports.received(a, 1);
    reports.reportEvery(0); // drops the pending report
    reports.received(a, 2);
    clock.advance(2000);
    expect(sent).toEqual([]);
    expect(clock.pending).toBe(0);
    reports.reportEvery(INTERVAL);
    reports.received(a, 3);
    clock.advance(1000);
    expect(sent.map((report) => report.streams)).toEqual([{ [a]: 3 }]);
    const silent = new ReceivedReporter(0, () => expect.unreachable());
    silent.received(a, 1);
  });

  it('refuses an interval that is not a whole number of ms, 0 or more', () => {
    for (const bad of [-1, 2.5, Number.NaN]) {
      expect(() => new ReceivedReporter(bad, () => undefined)).toThrow(RangeError);
      expect(() => reporter().reports.reportEvery(bad)).toThrow(RangeError);
    }
  });
});
