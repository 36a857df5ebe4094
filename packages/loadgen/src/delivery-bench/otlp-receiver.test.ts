import { afterEach, describe, expect, it } from 'vitest';
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
