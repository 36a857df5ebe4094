import type { Context, Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import {
  BatchSpanProcessor,
  TracerProvider,
  type ReadableSpan,
  type Span,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace';

/** Spans the bench gateway ended and handed to its exporter (since the last `take`). */
export interface TracingCounts {
  readonly spansEnded: number;
  readonly spansExported: number;
}

/** The bench gateway's tracer, what it counted, and how to flush and stop it. */
export interface BenchTracing {
  readonly tracer: Tracer;
  /** Counts since the previous call. */
  take(): TracingCounts;
  /** Exports what is buffered, then stops. */
  close(): Promise<void>;
}

/** Counts the spans that end and goes on to the processor that batches them. */
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

/** Counts the spans handed to the exporter (ended minus these: buffered, or dropped when full). */
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
 * Tracing of the bench gateway as the sync-server sets it up (`startServiceTracing` of
 * `@ccs/server`): its own provider (nothing global), a `BatchSpanProcessor` with its defaults,
 * exporting over OTLP/HTTP to `endpoint`. Two counters wrap the processor and the exporter, one
 * call each per span and per batch, so a run can tell how many spans were made and sent.
 */
export function startBenchTracing(endpoint: string): BenchTracing {
  const exporter = new CountingExporter(new OTLPTraceExporter({ url: endpoint }));
  const processor = new CountingProcessor(new BatchSpanProcessor({ exporter }));
  const provider = new TracerProvider({ spanProcessors: [processor] });
  let taken = { spansEnded: 0, spansExported: 0 };
  return {
    tracer: provider.getTracer('@ccs/realtime'),
    take() {
      const now = { spansEnded: processor.ended, spansExported: exporter.exported };
      const counts = {
        spansEnded: now.spansEnded - taken.spansEnded,
        spansExported: now.spansExported - taken.spansExported,
      };
      taken = now;
      return counts;
    },
    close: () => provider.shutdown(),
  };
}
