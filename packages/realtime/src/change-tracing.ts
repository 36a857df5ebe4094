import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Link,
  type Span,
  type SpanContext,
  type Tracer,
} from '@opentelemetry/api';
import type { ChangeEvent, StreamName, WriteEventName } from '@ccs/protocol';

/** How a write reached the gateway. */
export type WriteTransport = 'socket' | 'rest';

/** Span attributes, one place (`ccs.*`; OpenTelemetry's own names where one exists). */
export const TRACE_ATTRIBUTES = {
  event: 'ccs.event',
  transport: 'ccs.transport',
  deviceId: 'ccs.device_id',
  stream: 'ccs.stream',
  seq: 'ccs.seq',
  firstSeq: 'ccs.seq.first',
  lastSeq: 'ccs.seq.last',
  changes: 'ccs.changes',
  receivers: 'ccs.receivers',
  commitToAckMs: 'ccs.commit_to_ack_ms',
} as const;

/** Write span contexts kept for the emits that follow them on this node. */
const DEFAULT_KEPT_WRITES = 10_000;

/**
 * One change's path as OpenTelemetry spans, on one node: `ccs.write` (a socket event or a REST
 * call, through its commit), `ccs.relay.read` (a read of the change log that found it),
 * `ccs.emit` (its stream's changes sent to the room: a child of the read, linked to the writes
 * made through this node) and `ccs.device_ack` (a device saying it holds it, linked to the emit).
 * The relay may read and emit a change before its write's caller has seen the commit (the commit
 * is visible to the relay's query first): then the write's span, recorded after, links to the
 * emit instead.
 * Every span carries the stream and the seq(s), so a change is followed across nodes by those.
 * The relay's reads run one at a time, so the read under way is the parent of its emits.
 */
export class ChangeTracing {
  private readonly writes = new Map<string, SpanContext>();
  /** Emits of changes whose write span was not recorded yet (it may be on its way). */
  private readonly emitsBeforeWrite = new Map<string, SpanContext>();
  private read: Span | undefined;
  /** A change is traced when the hash of its stream and seq falls below this (of 2^32). */
  private readonly threshold: number;

  /**
   * @param sampleRatio Share of the changes traced (0 < ratio ≤ 1), decided by stream and seq
   *   alone, so every node makes the same choice for a change and its spans are all kept or
   *   all left out. A read or an emit is traced when one of its changes is.
   */
  constructor(
    private readonly tracer: Tracer,
    sampleRatio = 1,
    private readonly keptWrites = DEFAULT_KEPT_WRITES,
  ) {
    if (!(sampleRatio > 0 && sampleRatio <= 1)) {
      throw new RangeError(`sampleRatio must be in (0, 1], got ${sampleRatio}`);
    }
    this.threshold = sampleRatio * 2 ** 32;
  }

  /** Whether the change `seq` of `stream` is traced, on every node alike. */
  traces(stream: StreamName, seq: number): boolean {
    return this.threshold >= 2 ** 32 || changeHash(stream, seq) < this.threshold;
  }

  /**
   * Runs a write; when the change it made is traced (or it failed), records it as a `ccs.write`
   * span from its start through its commit, and remembers the span under the change.
   */
  async write<R extends { readonly stream: StreamName; readonly seq: number }>(
    event: WriteEventName,
    transport: WriteTransport,
    deviceId: string,
    run: () => Promise<R>,
  ): Promise<R> {
    const startTime = performance.timeOrigin + performance.now();
    const start = (links: Link[] = []): Span =>
      this.tracer.startSpan('ccs.write', {
        kind: SpanKind.SERVER,
        startTime,
        links,
        attributes: {
          [TRACE_ATTRIBUTES.event]: event,
          [TRACE_ATTRIBUTES.transport]: transport,
          [TRACE_ATTRIBUTES.deviceId]: deviceId,
        },
      });
    let result: R;
    try {
      result = await run();
    } catch (error) {
      const span = start();
      span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
      span.end();
      throw error;
    }
    if (this.traces(result.stream, result.seq)) {
      const changed = key(result.stream, result.seq);
      const emitted = this.emitsBeforeWrite.get(changed);
      this.emitsBeforeWrite.delete(changed);
      const span = start(emitted ? [{ context: emitted }] : []);
      span.setAttributes({
        [TRACE_ATTRIBUTES.stream]: result.stream,
        [TRACE_ATTRIBUTES.seq]: result.seq,
      });
      span.end();
      if (!emitted) remember(this.writes, this.keptWrites, changed, span.spanContext());
    }
    return result;
  }

  /** Starts the span of a read of the change log that found `changes`, if one of them is traced. */
  startRead(changes: readonly ChangeEvent[]): void {
    if (!changes.some((change) => this.traces(change.stream, change.seq))) return;
    this.read = this.tracer.startSpan('ccs.relay.read', {
      attributes: { [TRACE_ATTRIBUTES.changes]: changes.length },
    });
  }

  /** Ends the read's span, once its changes were handed to the rooms. */
  endRead(): void {
    this.read?.end();
    this.read = undefined;
  }

  /**
   * The `ccs.emit` of a stream's changes to `receivers` local sockets, if one of them is traced;
   * its context, for acks.
   */
  emit(
    stream: StreamName,
    changes: readonly ChangeEvent[],
    receivers: number,
  ): SpanContext | undefined {
    if (!changes.some((change) => this.traces(stream, change.seq))) return undefined;
    const links: Link[] = [];
    const unwritten: string[] = [];
    for (const change of changes) {
      const written = key(stream, change.seq);
      const write = this.writes.get(written);
      if (!write) {
        // Only traced writes are kept: the hash is checked for the others alone.
        if (this.traces(stream, change.seq)) unwritten.push(written);
        continue;
      }
      // A change is emitted once per node: its write is linked once.
      this.writes.delete(written);
      links.push({ context: write, attributes: { [TRACE_ATTRIBUTES.seq]: change.seq } });
    }
    const parent = this.read ? trace.setSpan(ROOT_CONTEXT, this.read) : ROOT_CONTEXT;
    const span = this.tracer.startSpan(
      'ccs.emit',
      {
        links,
        attributes: {
          [TRACE_ATTRIBUTES.stream]: stream,
          [TRACE_ATTRIBUTES.firstSeq]: changes[0]!.seq,
          [TRACE_ATTRIBUTES.lastSeq]: changes[changes.length - 1]!.seq,
          [TRACE_ATTRIBUTES.changes]: changes.length,
          [TRACE_ATTRIBUTES.receivers]: receivers,
        },
      },
      parent,
    );
    span.end();
    const context = span.spanContext();
    // Written through this node but not recorded yet, or written elsewhere: a write recorded
    // later links here.
    for (const written of unwritten) {
      remember(this.emitsBeforeWrite, this.keptWrites, written, context);
    }
    return context;
  }

  /**
   * A `ccs.device_ack` (when the change is traced): the device holds `seq` of `stream`, linked
   * to the emit that carried it.
   */
  deviceAck(
    stream: StreamName,
    seq: number,
    deviceId: string,
    emit: SpanContext | undefined,
    commitToAckMs: number | undefined,
  ): void {
    if (!this.traces(stream, seq)) return;
    const span = this.tracer.startSpan('ccs.device_ack', {
      kind: SpanKind.SERVER,
      ...(emit && { links: [{ context: emit }] }),
      attributes: {
        [TRACE_ATTRIBUTES.stream]: stream,
        [TRACE_ATTRIBUTES.seq]: seq,
        [TRACE_ATTRIBUTES.deviceId]: deviceId,
        ...(commitToAckMs !== undefined && { [TRACE_ATTRIBUTES.commitToAckMs]: commitToAckMs }),
      },
    });
    span.end();
  }
}

const key = (stream: StreamName, seq: number): string => `${stream}#${seq}`;

/** Keeps `context` under `changed` in `kept`, forgetting the oldest past `most`. */
function remember(
  kept: Map<string, SpanContext>,
  most: number,
  changed: string,
  context: SpanContext,
): void {
  if (kept.size >= most) kept.delete(kept.keys().next().value!);
  kept.set(changed, context);
}

/** 32-bit FNV-1a of `stream#seq`: the same on every node and in every process. */
function changeHash(stream: StreamName, seq: number): number {
  const text = key(stream, seq);
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
