import { afterEach, describe, expect, it } from 'vitest';
import {
  BAD_TOKEN,
  startScriptedServer,
  stream,
  type ScriptedServer,
  type ScriptedServerOptions,
} from '../test/scripted-server.js';
import { Barrier } from './barrier.js';
import { BarrierTimeoutError } from './barrier-timeout-error.js';
import { DeliveryAssertionError } from './delivery-assertion-error.js';
import { Fleet } from './fleet.js';
import { FleetConnectError } from './fleet-connect-error.js';
import { FleetWaitTimeoutError } from './fleet-wait-timeout-error.js';

/** Per token, the seqs a subscriber gets: what a faulty server might do to one device. */
const scripts: Record<string, readonly number[]> = {
  good: [1, 2, 3],
  short: [1, 2],
  duplicate: [1, 2, 2, 3],
  gap: [1, 3],
  reorder: [1, 3, 2],
};

let server: ScriptedServer | undefined;
let fleet: Fleet | undefined;

afterEach(async () => {
  fleet?.close();
  fleet = undefined;
  await server?.close();
});

async function start(options: ScriptedServerOptions = {}): Promise<ScriptedServer> {
  server = await startScriptedServer({ script: ({ token }) => scripts[token] ?? [], ...options });
  return server;
}

async function subscribedFleet(tokens: readonly string[]): Promise<Fleet> {
  const { url } = await start();
  fleet = await Fleet.connect({ url, tokens });
  await fleet.each((client) => client.emitWithAck('subscribe', { stream }));
  return fleet;
}

describe('Fleet', () => {
  it('connects every member with at most `concurrency` handshakes at once', async () => {
    const { url, handshakes } = await start({ handshakeDelayMs: 30 });
    fleet = await Fleet.connect({ url, tokens: Array(12).fill('good'), concurrency: 3 });
    expect(fleet.size).toBe(12);
    expect([...fleet].every((client) => client.state === 'connected')).toBe(true);
    expect(handshakes.total).toBe(12);
    expect(handshakes.max).toBe(3);
  });

  it('closes every member and names the one that could not connect', async () => {
    const started = await start();
    const error = await Fleet.connect({
      url: started.url,
      tokens: ['good', 'good', BAD_TOKEN, 'good', 'good'],
      concurrency: 1,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FleetConnectError);
    expect((error as FleetConnectError).failures.map((f) => f.member)).toEqual(['member-2']);
    expect((error as Error).message).toContain('1 of 5 fleet members could not connect');
    expect((error as Error).message).toContain('member-2: bad token {"code":"unauthorized"}');
    // No handshake starts after the failure, and the members that did connect are closed.
    expect(started.handshakes.total).toBe(3);
    await started.untilNoSockets();
  });

  it('gives members their own names, URLs and options', async () => {
    const { url } = await start();
    const other = await startScriptedServer();
    try {
      fleet = await Fleet.connect({
        url,
        clients: [
          { token: 'good', name: 'alice' },
          { token: 'good', url: other.url },
        ],
        shared: { ackTimeoutMs: 1000 },
      });
      expect(fleet.clients.map((c) => [c.name, c.url])).toEqual([
        ['alice', url],
        ['member-1', other.url],
      ]);
    } finally {
      fleet?.close();
      await other.close();
    }
  });

  it('needs exactly one of tokens or clients', async () => {
    await expect(Fleet.connect({ url: 'http://127.0.0.1:1' })).rejects.toThrow(
      'exactly one of `tokens` or `clients`',
    );
  });

  it('lets members start a step together at a barrier', async () => {
    await subscribedFleet(Array(5).fill('good'));
    const steps: string[] = [];
    const barrier = fleet!.barrier();
    await fleet!.each(async (client, index) => {
      // Each member's own round trip ends at a different time.
      await client.emitWithAck('message:send', {
        conversationId: stream.slice('conversation:'.length),
        clientId: `c${index}`,
        body: 'hi',
      });
      steps.push('arrive');
      await barrier.arrive();
      steps.push('pass');
    });
    expect(steps).toEqual([...Array(5).fill('arrive'), ...Array(5).fill('pass')]);
    expect(barrier.arrived).toBe(5);
  });

  it('fails a barrier that not every party reaches', async () => {
    const barrier = new Barrier(3, { timeout: 100 });
    const first = barrier.arrive();
    const second = barrier.arrive();
    await expect(first).rejects.toBeInstanceOf(BarrierTimeoutError);
    await expect(second).rejects.toThrow('only 2 of 3 parties reached the barrier within 100 ms');
  });

  it('waits for an event on every member', async () => {
    await subscribedFleet(['good', 'good', 'good']);
    const thirds = await fleet!.waitForAll('change', { predicate: (c) => c.seq === 3 });
    expect(thirds.map(([c]) => c.seq)).toEqual([3, 3, 3]);
  });

  it('names the members that did not get the event, and what they got', async () => {
    await subscribedFleet(['good', 'short', 'good']);
    const error = await fleet!
      .waitForAll('change', { predicate: (c) => c.seq === 3, timeout: 150 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FleetWaitTimeoutError);
    const message = (error as Error).message;
    expect(message).toMatch(
      /^1 of 3 fleet members got no matching "change" within 150 ms \(member-1\)/,
    );
    expect(message).toContain('member-1: no matching "change" within 150 ms');
    expect(message).toContain('"seq":2');
  });

  it('passes when every member got each change exactly once and in order', async () => {
    await subscribedFleet(['good', 'good']);
    await fleet!.expectEachReceivedOnce(stream, 3);
    await fleet!.expectEachReceivedOnce(stream, [1, 2, 3]);
  });

  it('catches a duplicate, a gap and a reordering, naming each member', async () => {
    await subscribedFleet(['good', 'duplicate', 'gap', 'reorder']);
    const error = await fleet!
      .expectEachReceivedOnce(stream, 3, { timeout: 300 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeliveryAssertionError);
    const failure = error as DeliveryAssertionError;
    expect(failure.failures.map((f) => f.member)).toEqual(['member-1', 'member-2', 'member-3']);
    expect(failure.message).toBe(
      `3 of 4 client(s) did not receive ${stream} seqs 1..3 exactly once and in order:\n` +
        '  member-1: duplicate 2 (×2) (received 1, 2, 2, 3)\n' +
        '  member-2: missing 2 (received 1, 3)\n' +
        '  member-3: out of order: 2 after 3 (received 1, 3, 2)',
    );
  });

  it('reports latency percentiles over every member', async () => {
    const { url } = await start({ commitAgeMs: 200 });
    fleet = await Fleet.connect({ url, tokens: ['good', 'good', 'good'] });
    await fleet.each((client) => client.emitWithAck('subscribe', { stream }));
    await fleet.expectEachReceivedOnce(stream, 3);
    const latency = fleet.latency();
    expect(latency.count).toBe(9);
    expect(latency.p50).toBeGreaterThanOrEqual(200);
    expect(latency.p99).toBeGreaterThanOrEqual(latency.p50);
    expect(latency.max).toBeLessThan(200 + 2000);
  });
});
