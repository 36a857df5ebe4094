import type { Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';

/** A tracer whose spans are batched to an OTLP/HTTP endpoint, and how to flush and stop it. */
export interface ServiceTracing {
  readonly tracer: Tracer;
  /** Exports what is buffered, then stops. */
  close(): Promise<void>;
}

/**
 * Tracing of the sync-server, on its own provider (nothing global is registered, so an app that
 * embeds the server keeps its own): spans of service `ccs-sync-server`, exported in batches.
 */
export function startServiceTracing(endpoint: string): ServiceTracing {
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'ccs-sync-server' }),
    spanProcessors: [
      new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url: endpoint }) }),
    ],
  });
  return {
    tracer: provider.getTracer('@ccs/realtime'),
    close: () => provider.shutdown(),
  };
}
