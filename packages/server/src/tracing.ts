import type { Context, Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  TracerProvider,
  type ReadableSpan,
  type Span,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace';

/**
 * Spans per OTLP/HTTP request. Serialising a batch blocks the event loop (about 7 µs a span on
 * the bench machine), so batches stay small: the SDK's default of 512 held every delivery up
 * for about 4 ms twice a second at a moderate load; 64 hold it for about half a millisecond.
 */
export const TRACE_EXPORT_BATCH_SIZE = 64;

/** Spans ended since tracing started, and how many of them went to the exporter. */
export interface TracingCounts {
  readonly spansEnded: number;
  /** Ended minus these: still buffered, or dropped because the buffer was full. */
  readonly spansExported: number;
}

/** A tracer whose spans are batched to an OTLP/HTTP endpoint, and how to flush and stop it. */
export interface ServiceTracing {
  readonly tracer: Tracer;
  counts(): TracingCounts;
  /** Exports what is buffered, then stops. */
  close(): Promise<void>;
}

/** Counts the spans that end, then hands them on. */
class CountingProcessor implements SpanProcessor {
  ended = 0;

  constructor(private readonly next: SpanProcessor) {}

  onStart(span: Span, parentContext: Context): void {
    this.next.onStart(span, parentContext);
  }

  onEnd(span: ReadableSpan): void {
    this.ended++;
    this.next.onEnd(span);
  }

  forceFlush(): Promise<void> {
    return this.next.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.next.shutdown();
  }
}

/** Counts the spans handed to the exporter, then exports them. */
class CountingExporter implements SpanExporter {
  exported = 0;

  constructor(private readonly next: SpanExporter) {}

  export(spans: ReadableSpan[], resultCallback: Parameters<SpanExporter['export']>[1]): void {
    this.exported += spans.length;
    this.next.export(spans, resultCallback);
  }

  shutdown(): Promise<void> {
    return this.next.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.next.forceFlush?.() ?? Promise.resolve();
  }
}

/**
 * Tracing of the sync-server, on its own provider (nothing global is registered, so an app that
 * embeds the server keeps its own): spans of service `ccs-sync-server`, exported in batches of
 * {@link TRACE_EXPORT_BATCH_SIZE}.
 */
export function startServiceTracing(endpoint: string): ServiceTracing {
  const exporter = new CountingExporter(new OTLPTraceExporter({ url: endpoint }));
  const processor = new CountingProcessor(
    new BatchSpanProcessor({ exporter, maxExportBatchSize: TRACE_EXPORT_BATCH_SIZE }),
  );
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'ccs-sync-server' }),
    spanProcessors: [processor],
  });
  return {
    tracer: provider.getTracer('@ccs/realtime'),
    counts: () => ({ spansEnded: processor.ended, spansExported: exporter.exported }),
    close: () => provider.shutdown(),
  };
}
