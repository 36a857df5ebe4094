import { randomUUID } from 'node:crypto';
import { streamName, type ChangeEvent } from '@ccs/protocol';
import { TestClient } from '@ccs/test-clients';
import {
  InMemorySpanExporter,
  SimpleSpanProcessor,
  TracerProvider,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace';
import { describe, expect, it, onTestFinished } from 'vitest';
import { ChangeTracing, TRACE_ATTRIBUTES as A } from '../src/change-tracing.js';
import { devicesOf, test } from './gateway-fixtures.js';
import { startGatewayHarness } from './gateway-harness.js';

describe('tracing a change from its write to the device', () => {
  test('write (socket and REST), relay read, emit and device ack are spans linked by stream and seq', async ({
    database,
    scenario,
  }) => {
    const exporter = new InMemorySpanExporter();
    const provider = new TracerProvider({
      spanProcessors: [new SimpleSpanProcessor({ exporter })],
    });
    onTestFinished(() => provider.shutdown());
    const harness = await startGatewayHarness(database, { tracer: provider.getTracer('test') });
    onTestFinished(() => harness.close());
    const { aliceLaptop, bobPhone } = devicesOf(scenario);
    const { stream } = scenario;
    const connect = async (token: string): Promise<TestClient> => {
      const client = new TestClient({ url: harness.url, token });
      onTestFinished(() => client.close());
      await client.open();
      return client;
    };
    const laptop = await connect(aliceLaptop.token);
    const bob = await connect(bobPhone.token);
    expect(await laptop.emitWithAck('subscribe', { stream })).toMatchObject({ ok: true });

    const sent = await bob.emitWithAck('message:send', {
      conversationId: scenario.conversation.id,
      clientId: randomUUID(),
      body: 'over the socket',
    });
    if (!sent.ok) throw new Error(sent.error.message);
    // A REST write goes through the same gate (the REST routes call `writes.perform`).
    const viaRest = await harness.gateway.writes.perform(
      'message:send',
      { userId: bobPhone.userId, deviceId: bobPhone.id },
      { conversationId: scenario.conversation.id, clientId: randomUUID(), body: 'over REST' },
    );
    await laptop.waitFor('change', {
      predicate: (change: ChangeEvent) => change.seq === viaRest.seq,
    });
    expect(
      await laptop.emitWithAck('changes:received', { streams: { [stream]: sent.seq } }),
    ).toEqual({ ok: true });

    const spans = () => exporter.getFinishedSpans();
    await expect
      .poll(() => spans().some((span) => span.name === 'ccs.device_ack'), { timeout: 5000 })
      .toBe(true);
    const writes = spans().filter((span) => span.name === 'ccs.write');
    const socketWrite = writes.find((span) => span.attributes[A.seq] === sent.seq)!;
    const restWrite = writes.find((span) => span.attributes[A.seq] === viaRest.seq)!;
    expect(socketWrite.attributes).toMatchObject({
      [A.event]: 'message:send',
      [A.transport]: 'socket',
      [A.deviceId]: bobPhone.id,
      [A.stream]: stream,
    });
    expect(restWrite.attributes).toMatchObject({ [A.transport]: 'rest', [A.stream]: stream });

    // The emit that carried the socket write: a child of a relay read, linked with the write
    // (from the emit; or from the write, when the relay emitted before the write's caller saw
    // the commit).
    const idOf = (span: ReadableSpan): string => span.spanContext().spanId;
    const linkedWith = (one: ReadableSpan, other: ReadableSpan): boolean =>
      one.links.some((link) => link.context.spanId === idOf(other)) ||
      other.links.some((link) => link.context.spanId === idOf(one));
    const emits = () => spans().filter((span) => span.name === 'ccs.emit');
    const emit = emits().find((span) => linkedWith(span, socketWrite));
    expect(emit).toBeDefined();
    expect(emit!.attributes[A.stream]).toBe(stream);
    expect(emit!.attributes[A.firstSeq]).toBeLessThanOrEqual(sent.seq);
    expect(emit!.attributes[A.lastSeq]).toBeGreaterThanOrEqual(sent.seq);
    const read = spans().find(
      (span) => span.spanContext().spanId === emit!.parentSpanContext?.spanId,
    );
    expect(read?.name).toBe('ccs.relay.read');
    expect(read!.attributes[A.changes]).toBeGreaterThanOrEqual(1);
    // Every write is linked with exactly one emit.
    for (const write of writes) {
      expect(emits().filter((span) => linkedWith(span, write))).toHaveLength(1);
    }

    // The device's ack of that seq, linked to that emit, with the time from the commit.
    const ack = spans().find((span) => span.name === 'ccs.device_ack')!;
    expect(ack.attributes).toMatchObject({
      [A.stream]: stream,
      [A.seq]: sent.seq,
      [A.deviceId]: aliceLaptop.id,
    });
    expect(ack.attributes[A.commitToAckMs]).toBeGreaterThanOrEqual(0);
    expect(ack.links.map((link) => link.context.spanId)).toEqual([emit!.spanContext().spanId]);
  });
});

describe('a change emitted before its write is recorded', () => {
  it("links the write's span to the emit that carried the change", async () => {
    // The commit is visible to the relay's query before the writer's client has read the
    // COMMIT answer: the relay may emit the change first.
    const stream = streamName('conversation', '0b7c2f9e-4d1a-4e3b-8c5f-6a7b8c9d0e1f');
    const exporter = new InMemorySpanExporter();
    const provider = new TracerProvider({
      spanProcessors: [new SimpleSpanProcessor({ exporter })],
    });
    onTestFinished(() => provider.shutdown());
    const tracing = new ChangeTracing(provider.getTracer('test'));
    const change = {
      stream,
      seq: 7,
      kind: 'message.created',
      data: {},
      committedAt: new Date(0).toISOString(),
      writtenAt: new Date(0).toISOString(),
    } as unknown as ChangeEvent;
    const emit = tracing.emit(stream, [change], 2)!;
    await tracing.write('message:send', 'socket', 'device', async () => ({ stream, seq: 7 }));
    const write = exporter.getFinishedSpans().find((span) => span.name === 'ccs.write')!;
    expect(write.links.map((link) => link.context.spanId)).toEqual([emit.spanId]);
    // Linked once: a retry answered with the same seq links nothing more.
    await tracing.write('message:send', 'socket', 'device', async () => ({ stream, seq: 7 }));
    const later = exporter.getFinishedSpans().filter((span) => span.name === 'ccs.write')[1]!;
    expect(later.links).toEqual([]);
  });
});

describe('sampling (traceSampleRatio)', () => {
  const stream = streamName('conversation', '6f1c2b8e-1d2a-4c3b-9e4f-5a6b7c8d9e0f');
  const change = (seq: number): ChangeEvent =>
    ({
      stream,
      seq,
      kind: 'message.created',
      data: {},
      committedAt: new Date(0).toISOString(),
      writtenAt: new Date(0).toISOString(),
    }) as unknown as ChangeEvent;
  const traced = (ratio: number) => {
    const exporter = new InMemorySpanExporter();
    const provider = new TracerProvider({
      spanProcessors: [new SimpleSpanProcessor({ exporter })],
    });
    return { exporter, tracing: new ChangeTracing(provider.getTracer('test'), ratio) };
  };

  it('traces about that share of the changes, the same ones on every node', () => {
    const seqs = Array.from({ length: 4000 }, (_, i) => i + 1);
    const one = traced(0.25).tracing;
    const other = traced(0.25).tracing;
    const chosen = seqs.filter((seq) => one.traces(stream, seq));
    expect(chosen.length / seqs.length).toBeGreaterThan(0.22);
    expect(chosen.length / seqs.length).toBeLessThan(0.28);
    expect(seqs.filter((seq) => other.traces(stream, seq))).toEqual(chosen);
    expect(seqs.every((seq) => traced(1).tracing.traces(stream, seq))).toBe(true);
  });

  it("keeps a traced change's read, emit, ack and write, and nothing of the others", async () => {
    const { exporter, tracing } = traced(0.25);
    const seqs = Array.from({ length: 40 }, (_, i) => i + 1);
    const kept = seqs.find((seq) => tracing.traces(stream, seq))!;
    const left = seqs.find((seq) => !tracing.traces(stream, seq))!;
    for (const seq of [kept, left]) {
      await tracing.write('message:send', 'socket', 'device-1', async () => ({ stream, seq }));
      tracing.startRead([change(seq)]);
      const emit = tracing.emit(stream, [change(seq)], 3);
      tracing.endRead();
      tracing.deviceAck(stream, seq, 'device-2', emit, 5);
      expect(emit === undefined).toBe(seq === left);
    }
    const spans = exporter.getFinishedSpans();
    expect(spans.map((span) => span.name).sort()).toEqual([
      'ccs.device_ack',
      'ccs.emit',
      'ccs.relay.read',
      'ccs.write',
    ]);
    const emit = spans.find((span) => span.name === 'ccs.emit')!;
    expect(emit.attributes[A.firstSeq]).toBe(kept);
    expect(emit.links).toHaveLength(1); // to the write of the kept change
  });

  it('refuses a ratio outside (0, 1]', () => {
    expect(() => traced(0)).toThrow(RangeError);
    expect(() => traced(1.5)).toThrow(RangeError);
  });
});
