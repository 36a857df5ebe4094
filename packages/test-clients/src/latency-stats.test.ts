import { afterEach, describe, expect, it } from 'vitest';
import { startScriptedServer, stream, type ScriptedServer } from '../test/scripted-server.js';
import { LatencyStats } from './latency-stats.js';
import { TestClient } from './test-client.js';

describe('LatencyStats', () => {
  it('reports percentiles, min, mean and max', () => {
    const samples = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(LatencyStats.summarize(samples)).toEqual({
      count: 100,
      min: 1,
      mean: 50.5,
      p50: 50,
      p90: 90,
      p99: 99,
      max: 100,
    });
  });

  it('counts a negative sample as 0 and ignores NaN', () => {
    const stats = new LatencyStats();
    stats.record(-5);
    stats.record(Number.NaN);
    stats.record(10);
    expect(stats.summary()).toMatchObject({ count: 2, min: 0, max: 10 });
  });

  it('reports zeros when empty', () => {
    expect(LatencyStats.summarize([])).toEqual({
      count: 0,
      min: 0,
      mean: 0,
      p50: 0,
      p90: 0,
      p99: 0,
      max: 0,
    });
  });
});

describe('TestClient latency', () => {
  let server: ScriptedServer | undefined;
  let client: TestClient | undefined;

  afterEach(async () => {
    client?.close();
    await server?.close();
  });

  it('measures commit-to-receive time from committedAt', async () => {
    server = await startScriptedServer({ commitAgeMs: 250 });
    client = await TestClient.connect({ url: server.url, token: 'good' });
    await client.emitWithAck('subscribe', { stream });
    await client.waitForCount('change', 3);
    for (const { change, receivedAt, latencyMs } of client.changes()) {
      expect(latencyMs).toBe(receivedAt - Date.parse(change.committedAt));
      expect(latencyMs).toBeGreaterThanOrEqual(250);
    }
    const summary = client.latency(stream);
    expect(summary.count).toBe(3);
    expect(summary.p50).toBeGreaterThanOrEqual(250);
    expect(summary.max).toBeLessThan(250 + 2000);
    expect(client.latency('conversation:other').count).toBe(0);
  });
});
