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
 * Every span carries the stream and the seq(s), so a change is followed across nodes by those.
 * The relay's reads run one at a time, so the read under way is the parent of its emits.
 */
export class ChangeTracing {
  private readonly writes = new Map<string, SpanContext>();
  private read: Span | undefined;

  constructor(
    private readonly tracer: Tracer,
    private readonly keptWrites = DEFAULT_KEPT_WRITES,
  ) {}

  /** Runs a write in a `ccs.write` span; remembers the span under the change it made. */
  async write<R extends { readonly stream: StreamName; readonly seq: number }>(
    event: WriteEventName,
    transport: WriteTransport,
    deviceId: string,
    run: () => Promise<R>,
  ): Promise<R> {
    const span = this.tracer.startSpan('ccs.write', {
      kind: SpanKind.SERVER,
      attributes: {
        [TRACE_ATTRIBUTES.event]: event,
        [TRACE_ATTRIBUTES.transport]: transport,
        [TRACE_ATTRIBUTES.deviceId]: deviceId,
      },
    });
    try {
      const result = await run();
      span.setAttributes({
        [TRACE_ATTRIBUTES.stream]: result.stream,
        [TRACE_ATTRIBUTES.seq]: result.seq,
      });
      this.remember(result.stream, result.seq, span.spanContext());
      return result;
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
      throw error;
    } finally {
      span.end();
    }
  }

  /** Starts the span of a read of the change log that found `changes` changes. */
  startRead(changes: number): void {
    this.read = this.tracer.startSpan('ccs.relay.read', {
      attributes: { [TRACE_ATTRIBUTES.changes]: changes },
    });
  }

  /** Ends the read's span, once its changes were handed to the rooms. */
  endRead(): void {
    this.read?.end();
    this.read = undefined;
  }

  /** The `ccs.emit` of a stream's changes to `receivers` local sockets; its context, for acks. */
  emit(stream: StreamName, changes: readonly ChangeEvent[], receivers: number): SpanContext {
    const links: Link[] = [];
    for (const change of changes) {
      const written = key(stream, change.seq);
      const write = this.writes.get(written);
      if (!write) continue;
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
    return span.spanContext();
  }

  /** A `ccs.device_ack`: the device holds `seq` of `stream`, linked to the emit that carried it. */
  deviceAck(
    stream: StreamName,
    seq: number,
    deviceId: string,
    emit: SpanContext | undefined,
    commitToAckMs: number | undefined,
  ): void {
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

  private remember(stream: StreamName, seq: number, context: SpanContext): void {
    if (this.writes.size >= this.keptWrites) {
      this.writes.delete(this.writes.keys().next().value!);
    }
    this.writes.set(key(stream, seq), context);
  }
}

const key = (stream: StreamName, seq: number): string => `${stream}#${seq}`;
