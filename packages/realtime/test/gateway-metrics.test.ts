import { randomUUID } from 'node:crypto';
import type { ChangeEvent } from '@ccs/protocol';
import { TestClient } from '@ccs/test-clients';
import { Registry } from 'prom-client';
import { describe, expect, onTestFinished } from 'vitest';
import { createGatewayMetrics } from '../src/gateway-metrics.js';
import { devicesOf, test } from './gateway-fixtures.js';
import { startGatewayHarness, type GatewayHarness } from './gateway-harness.js';

/** The value of one sample of a scrape, e.g. `ccs_subscriptions` or `x{reason="y"}`. */
async function sample(registry: Registry, series: string): Promise<number | undefined> {
  const text = await registry.metrics();
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** The server's socket of a device, as the gateway keeps it. */
function serverSocketOf(harness: GatewayHarness, deviceId: string) {
  const socket = [...harness.io.sockets.sockets.values()].find(
    (candidate) => candidate.data.deviceId === deviceId,
  );
  if (!socket) throw new Error(`no socket of device ${deviceId}`);
  return socket;
}

describe('gateway metrics and changes:received', () => {
  test('a scripted session: acks timed from the commit, resumes by outcome, gauges, dropped typing', async ({
    database,
    scenario,
  }) => {
    const registry = new Registry();
    const harness = await startGatewayHarness(database, {
      metrics: createGatewayMetrics(registry),
    });
    onTestFinished(() => harness.close());
    const { aliceLaptop, alicePhone, bobPhone } = devicesOf(scenario);
    const connect = async (token: string): Promise<TestClient> => {
      const client = new TestClient({ url: harness.url, token });
      onTestFinished(() => client.close());
      await client.open();
      return client;
    };
    const { stream } = scenario;
    const laptop = await connect(aliceLaptop.token);
    const bob = await connect(bobPhone.token);
    expect(await laptop.emitWithAck('subscribe', { stream })).toMatchObject({ ok: true });
    expect(await bob.emitWithAck('subscribe', { stream })).toMatchObject({ ok: true });

    const sent: number[] = [];
    for (let i = 0; i < 3; i++) {
      const ack = await bob.emitWithAck('message:send', {
        conversationId: scenario.conversation.id,
        clientId: randomUUID(),
        body: `hello ${i}`,
      });
      if (!ack.ok) throw new Error(ack.error.message);
      sent.push(ack.seq);
    }
    const last = sent.at(-1)!;
    await laptop.waitFor('change', { predicate: (change: ChangeEvent) => change.seq === last });

    // The device says what it holds: kept on its socket, and timed from the change's commit.
    expect(await laptop.emitWithAck('changes:received', { streams: { [stream]: last } })).toEqual({
      ok: true,
    });
    expect(serverSocketOf(harness, aliceLaptop.id).data.received).toEqual({ [stream]: last });
    expect(await sample(registry, 'ccs_commit_to_device_ack_seconds_count')).toBe(1);
    // An older seq, and a stream it does not follow, change nothing; a bad payload is refused.
    const other = `user:${randomUUID()}`;
    expect(
      await laptop.emitWithAck('changes:received', { streams: { [stream]: sent[0]!, [other]: 9 } }),
    ).toEqual({ ok: true });
    expect(serverSocketOf(harness, aliceLaptop.id).data.received).toEqual({ [stream]: last });
    expect(await sample(registry, 'ccs_commit_to_device_ack_seconds_count')).toBe(1);
    expect(
      await laptop.emitWithAck('changes:received', { streams: { [stream]: -1 } } as never),
    ).toMatchObject({ ok: false, error: { code: 'invalid_payload' } });

    // Sent the SDK's way: unanswered, timed to the receipt (`heldMs` before the report; held
    // since before the commit here, so it is timed as 0).
    const fresh = await bob.emitWithAck('message:send', {
      conversationId: scenario.conversation.id,
      clientId: randomUUID(),
      body: 'one more',
    });
    if (!fresh.ok) throw new Error(fresh.error.message);
    await laptop.waitFor('change', {
      predicate: (change: ChangeEvent) => change.seq === fresh.seq,
    });
    const fastest = 'ccs_commit_to_device_ack_seconds_bucket{le="0.001"}';
    const fastBefore = (await sample(registry, fastest)) ?? 0;
    laptop.socket.emit('changes:received', {
      streams: { [stream]: fresh.seq },
      heldMs: { [stream]: 3_600_000 },
    });
    await expect
      .poll(() => serverSocketOf(harness, aliceLaptop.id).data.received[stream])
      .toBe(fresh.seq);
    expect(await sample(registry, 'ccs_commit_to_device_ack_seconds_count')).toBe(2);
    expect(await sample(registry, fastest)).toBe(fastBefore + 1);

    // Subscriptions and tracked streams, read at the scrape.
    expect(await sample(registry, 'ccs_subscriptions')).toBe(2);
    expect(await sample(registry, 'ccs_relay_tracked_streams')).toBe(1);
    expect(await sample(registry, 'ccs_relay_tail_lag_changes')).toBeGreaterThanOrEqual(0);
    expect(await sample(registry, 'ccs_relay_tail_lag_seconds')).toBeGreaterThanOrEqual(0);

    // Resumes: from the log, and one the server cannot serve (since ahead of the head).
    const phone = await connect(alicePhone.token);
    expect(await phone.emitWithAck('subscribe', { stream, since: sent[0]! })).toMatchObject({
      ok: true,
    });
    expect(await sample(registry, 'ccs_resumes_total{outcome="replayed",reason="none"}')).toBe(1);
    expect(await phone.emitWithAck('unsubscribe', { stream })).toEqual({ ok: true });
    expect(await phone.emitWithAck('subscribe', { stream, since: last + 100 })).toMatchObject({
      ok: false,
      error: { code: 'conflict' },
    });
    expect(
      await sample(registry, 'ccs_resumes_total{outcome="resync",reason="since_ahead_of_head"}'),
    ).toBe(1);

    // The same typing state again within the throttle is dropped, and counted.
    const typing = { conversationId: scenario.conversation.id, typing: true };
    expect(await bob.emitWithAck('typing:update', typing)).toEqual({ ok: true, forwarded: true });
    expect(await bob.emitWithAck('typing:update', typing)).toEqual({ ok: true, forwarded: false });
    expect(await sample(registry, 'ccs_events_dropped_total{reason="typing_throttled"}')).toBe(1);

    // Leaving the stream forgets what the device told of it.
    expect(await laptop.emitWithAck('unsubscribe', { stream })).toEqual({ ok: true });
    expect(serverSocketOf(harness, aliceLaptop.id).data.received).toEqual({});
    expect(await sample(registry, 'ccs_subscriptions')).toBe(1);
  });
});
