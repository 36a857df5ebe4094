import type { StreamName } from './streams.js';
import { describe, expect, it } from 'vitest';
import type { ChangesReceivedPayload } from './received-payloads.js';
import { ReceivedReporter, type ReporterClock } from './received-reporter.js';

/** A clock the test moves by hand; due timers run in order when it does. */
class ManualClock implements ReporterClock {
  private time = 1_000_000;
  private readonly timers = new Map<number, { at: number; run: () => void }>();
  private nextId = 1;
  /** What `random()` answers next (the spread of a first report). */
  nextRandom = 0;

  now(): number {
    return this.time;
  }

  setTimeout(run: () => void, ms: number): number {
    const id = this.nextId++;
    this.timers.set(id, { at: this.time + ms, run });
    return id;
  }

  random(): number {
    return this.nextRandom;
  }

  clearTimeout(timer: unknown): void {
    this.timers.delete(timer as number);
  }

  get pending(): number {
    return this.timers.size;
  }

  advance(ms: number): void {
    const until = this.time + ms;
    for (;;) {
      const due = [...this.timers].filter(([, timer]) => timer.at <= until);
      if (due.length === 0) break;
      due.sort(([, a], [, b]) => a.at - b.at);
      const [id, timer] = due[0]!;
      this.timers.delete(id);
      this.time = timer.at;
      timer.run();
    }
    this.time = until;
  }
}

const a = 'conversation:a' as StreamName;
const b = 'conversation:b' as StreamName;

function reporter(intervalMs = 500) {
  const clock = new ManualClock();
  const sent: ({ at: number } & ChangesReceivedPayload)[] = [];
  const reports = new ReceivedReporter(
    intervalMs,
    (payload) => sent.push({ at: clock.now() - 1_000_000, ...payload }),
    clock,
  );
  return { clock, sent, reports };
}

describe('ReceivedReporter', () => {
  it('reports a first change after a random part of the interval, with how long it was held', () => {
    const { clock, sent, reports } = reporter();
    clock.nextRandom = 0.25; // 0.25 × 500 ms
    reports.received(a, 1);
    clock.advance(100);
    reports.received(a, 2); // meanwhile: the same report
    clock.advance(24);
    expect(sent).toEqual([]);
    clock.advance(1);
    expect(sent).toEqual([{ at: 125, streams: { [a]: 2 }, heldMs: { [a]: 25 } }]);
  });

  it('spreads the devices that got the same change at the same moment', () => {
    const times = [0, 0.25, 0.5, 0.99].map((random) => {
      const { clock, sent, reports } = reporter();
      clock.nextRandom = random;
      reports.received(a, 1);
      clock.advance(1000);
      return sent[0]!.at;
    });
    expect(times).toEqual([0, 125, 250, 495]);
  });

  it('sends at most one report per interval under a steady stream of changes', () => {
    const { clock, sent, reports } = reporter();
    for (let seq = 1; seq <= 2000; seq++) {
      reports.received(a, seq);
      clock.advance(1);
    }
    clock.advance(1000);
    // 2 s of changes every ms (no spread drawn): at 0, 500, 1000, 1500 and 2000 ms.
    expect(sent.map((report) => report.at)).toEqual([0, 500, 1000, 1500, 2000]);
    expect(sent.at(-1)).toMatchObject({ streams: { [a]: 2000 }, heldMs: { [a]: 1 } });
  });

  it('keeps the part of the interval it drew while changes keep coming', () => {
    const { clock, sent, reports } = reporter();
    clock.nextRandom = 0.6; // first report 300 ms after the first change
    for (let seq = 1; seq <= 1600; seq++) {
      reports.received(a, seq);
      clock.advance(1);
    }
    expect(sent.map((report) => report.at)).toEqual([300, 800, 1300]);
  });

  it('names only the streams that received since the last report, and never lowers a seq', () => {
    const { clock, sent, reports } = reporter();
    reports.received(a, 5);
    reports.received(b, 3);
    clock.advance(600);
    reports.received(b, 2);
    reports.received(a, 6);
    clock.advance(600);
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
  });

  it('refuses an interval that is not positive', () => {
    expect(() => new ReceivedReporter(0, () => undefined)).toThrow(RangeError);
  });
});
