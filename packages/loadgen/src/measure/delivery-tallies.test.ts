import type { ChangeEvent, StreamName } from '@ccs/protocol';
import { LatencyHistogram } from '@ccs/test-clients';
import { describe, expect, it } from 'vitest';
import { DeliveryTallies } from './delivery-tallies.js';
import { encodeBody } from './message-body.js';

const STREAM: StreamName = 'conversation:00000000-0000-4000-8000-000000000001';
const OTHER: StreamName = 'conversation:00000000-0000-4000-8000-000000000002';
/** When every test message was sent, µs. */
const SENT_AT = 1_700_000_000_000_000;

/** A `message.created` of `phase`, sent at {@link SENT_AT} and committed 1 ms later. */
function message(phase: number, seq: number, stream = STREAM, body?: string): ChangeEvent {
  const committedAt = new Date((SENT_AT + 1000) / 1000).toISOString();
  return {
    stream,
    seq,
    kind: 'message.created',
    data: {
      id: `m-${seq}`,
      conversationId: stream.slice(stream.indexOf(':') + 1),
      authorId: 'author',
      deviceId: 'device',
      clientId: `c-${seq}`,
      body: body ?? encodeBody({ phase, sentAtMicros: SENT_AT }, 64),
      seq,
      createdAt: committedAt,
      editedAt: null,
      deletedAt: null,
    },
    committedAt,
    writtenAt: committedAt,
  };
}

/** Received `ms` after {@link SENT_AT}. */
const after = (ms: number): number => SENT_AT + ms * 1000;

describe('DeliveryTallies', () => {
  it('counts distinct deliveries per client and stream, with their latency', () => {
    const tallies = new DeliveryTallies();
    tallies.record(0, message(1, 1), after(5));
    tallies.record(0, message(1, 2), after(7));
    tallies.record(1, message(1, 1), after(9)); // another client: its own delivery
    tallies.record(0, message(1, 1, OTHER), after(11)); // another stream, same seq
    expect(tallies.progress(1)).toEqual({
      distinct: 4,
      duplicated: 0,
      outOfOrder: 0,
      disconnects: 0,
    });
    const report = tallies.report(1);
    expect(report).toMatchObject({
      distinct: 4,
      lateDeliveries: 0,
      resyncs: 0,
      receivingClients: 2,
      firstReceiveMicros: after(5),
      lastReceiveMicros: after(11),
    });
    const latency = LatencyHistogram.decode(report.histogram);
    expect(latency.count).toBe(4);
    expect(latency.percentiles().p50Ms).toBeCloseTo(7, 1);
    expect(latency.percentiles().maxMs).toBeCloseTo(11, 1);
    // committedAt is 1 ms after the send.
    expect(LatencyHistogram.decode(report.commitHistogram).percentiles().maxMs).toBeCloseTo(10, 1);
  });

  it('counts a (stream, seq) the client already had as a duplicate, not as received', () => {
    const tallies = new DeliveryTallies();
    tallies.record(0, message(1, 1), after(1));
    tallies.record(0, message(1, 1), after(2));
    tallies.record(0, message(1, 1), after(3));
    const report = tallies.report(1);
    expect(report).toMatchObject({ distinct: 1, duplicated: 2 });
    expect(LatencyHistogram.decode(report.histogram).count).toBe(1);
  });

  it('counts a seq below the highest the client had as out of order, and as received', () => {
    const tallies = new DeliveryTallies();
    tallies.record(0, message(1, 1), after(1));
    tallies.record(0, message(1, 3), after(2));
    tallies.record(0, message(1, 2), after(3));
    tallies.record(0, message(1, 4), after(4));
    tallies.record(1, message(1, 2), after(5)); // another client's first: in order
    expect(tallies.progress(1)).toMatchObject({ distinct: 5, duplicated: 0, outOfOrder: 1 });
  });

  it('keeps phases apart by the phase in the body', () => {
    const tallies = new DeliveryTallies();
    tallies.record(0, message(1, 1), after(1));
    tallies.record(0, message(2, 1), after(2)); // seq 1 again, but of phase 2
    tallies.record(0, message(2, 2), after(3));
    expect(tallies.progress(1).distinct).toBe(1);
    expect(tallies.progress(2)).toMatchObject({ distinct: 2, duplicated: 0 });
  });

  it('counts deliveries of a phase already reported as late, in the next report', () => {
    const tallies = new DeliveryTallies();
    tallies.record(0, message(1, 1), after(1));
    expect(tallies.report(1).distinct).toBe(1);
    tallies.record(0, message(1, 2), after(6000));
    tallies.record(0, message(1, 3), after(6001));
    tallies.record(0, message(2, 1), after(6002));
    expect(tallies.progress(1).distinct).toBe(0);
    const next = tallies.report(2);
    expect(next).toMatchObject({ distinct: 1, lateDeliveries: 2 });
    expect(tallies.report(3)).toMatchObject({ distinct: 0, lateDeliveries: 0 });
  });

  it('counts resyncs and disconnects, and reports resyncs once', () => {
    const tallies = new DeliveryTallies();
    tallies.recordResync();
    tallies.recordResync();
    tallies.disconnects = 1;
    expect(tallies.report(1)).toMatchObject({ resyncs: 2, disconnects: 1 });
    expect(tallies.report(2)).toMatchObject({ resyncs: 0, disconnects: 1 });
  });

  it('ignores changes that are not bench messages', () => {
    const tallies = new DeliveryTallies();
    tallies.record(0, message(1, 1, STREAM, 'hello from a real device'), after(1));
    const member: ChangeEvent = {
      stream: STREAM,
      seq: 2,
      kind: 'conversation_member.created',
      data: { conversationId: 'c', userId: 'u', joinedAt: new Date(0).toISOString() },
      committedAt: new Date(0).toISOString(),
      writtenAt: new Date(0).toISOString(),
    };
    tallies.record(0, member, after(2));
    const report = tallies.report(1);
    expect(report).toMatchObject({ distinct: 0, duplicated: 0, firstReceiveMicros: 0 });
    expect(LatencyHistogram.decode(report.histogram).count).toBe(0);
  });
});
