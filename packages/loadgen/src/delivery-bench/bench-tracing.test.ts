import { afterEach, describe, expect, it } from 'vitest';
import { startBenchTracing } from './bench-tracing.js';
import { startOtlpReceiver, type OtlpReceiver } from './otlp-receiver.js';

let receiver: OtlpReceiver | undefined;
afterEach(async () => {
  await receiver?.close();
  receiver = undefined;
});

describe('startOtlpReceiver', () => {
  it('reads and drops each request body, answers 200 {}, and counts requests and bytes', async () => {
    receiver = await startOtlpReceiver();
    expect(receiver.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1\/traces$/);
    const body = JSON.stringify({ resourceSpans: [] });
    const response = await fetch(receiver.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({});
    expect(receiver.take()).toEqual({ requests: 1, bytes: body.length });
    expect(receiver.take()).toEqual({ requests: 0, bytes: 0 });
  });
});

describe('startBenchTracing', () => {
  it('exports the spans it ends over OTLP/HTTP, and counts them', async () => {
    receiver = await startOtlpReceiver();
    const tracing = startBenchTracing(receiver.url);
    for (let i = 0; i < 3; i++) tracing.tracer.startSpan(`span ${i}`).end();
    expect(tracing.take()).toEqual({ spansEnded: 3, spansExported: 0 });
    // Closing exports what the batch holds.
    await tracing.close();
    expect(tracing.take()).toEqual({ spansEnded: 0, spansExported: 3 });
    const received = receiver.take();
    expect(received.requests).toBe(1);
    expect(received.bytes).toBeGreaterThan(0);
  });
});
