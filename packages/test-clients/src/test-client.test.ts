import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  BAD_TOKEN,
  change,
  startScriptedServer,
  stream,
  type ScriptedServer,
} from '../test/scripted-server.js';
import { AckError } from './ack-error.js';
import { AckRefusedError } from './ack-refused-error.js';
import { ClientClosedError } from './client-closed-error.js';
import { DeliveryAssertionError } from './delivery-assertion-error.js';
import { TestClient } from './test-client.js';
import { UnexpectedEventError } from './unexpected-event-error.js';
import { WaitForTimeoutError } from './wait-for-timeout-error.js';

let server: ScriptedServer;
const clients: TestClient[] = [];

beforeEach(async () => {
  server = await startScriptedServer();
});

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await server.close();
});

async function connect(token = 'good'): Promise<TestClient> {
  const client = new TestClient({ url: server.url, token });
  clients.push(client);
  await client.open();
  return client;
}

async function connectAndReceiveThree(): Promise<TestClient> {
  const client = await connect();
  await client.emitWithAck('subscribe', { stream });
  await client.waitForCount('change', 3);
  return client;
}

describe('TestClient', () => {
  it('subscribe resolves with the head, and rejects a refusal with its code', async () => {
    await server.close();
    server = await startScriptedServer({ head: 5, refuseOtherStreams: true });
    const client = await connect();
    expect(await client.subscribe(stream, { since: 2 })).toEqual({ head: 5 });
    await client.waitForCount('change', 3);
    const refused = await client.subscribe('user:00000000-0000-4000-8000-000000000000').then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(AckRefusedError);
    expect(refused).toMatchObject({
      code: 'ack_refused',
      event: 'subscribe',
      error: { code: 'forbidden' },
    });
  });

  it('rejects connect with the server error data', async () => {
    await expect(connect(BAD_TOKEN)).rejects.toMatchObject({ data: { code: 'unauthorized' } });
  });

  it('connects with the static connect()', async () => {
    const client = await TestClient.connect({ url: server.url, token: 'good', name: 'alice' });
    clients.push(client);
    expect(client.socket.connected).toBe(true);
    expect(client.name).toBe('alice');
  });

  it('records the ack and every change, and waits for one by predicate', async () => {
    const client = await connect();
    const ack = await client.emitWithAck('subscribe', { stream });
    expect(ack).toEqual({ ok: true, head: 3 });
    const [third] = await client.waitFor('change', { predicate: (event) => event.seq === 3 });
    expect(third.seq).toBe(3);
    expect(client.received('change').map(([event]) => event.seq)).toEqual([1, 2, 3]);
    expect(client.history[0]).toMatchObject({ direction: 'out', event: 'subscribe' });
    expect(client.history[1]).toMatchObject({
      direction: 'ack',
      event: 'subscribe',
      args: [{ ok: true, head: 3 }],
    });
  });

  it('stamps every recorded event with its time, in order', async () => {
    const before = Date.now();
    const client = await connectAndReceiveThree();
    const times = client.history.map((entry) => entry.at);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(times[0]).toBeGreaterThanOrEqual(before);
    expect(times.at(-1)).toBeLessThanOrEqual(Date.now());
  });

  it('records events emitted on the raw socket as outgoing', async () => {
    const client = await connect();
    await client.socket.emitWithAck('subscribe', { stream });
    expect(client.sent('subscribe')).toEqual([{ stream }]);
  });

  it('filters the history by event, direction and predicate', async () => {
    const client = await connectAndReceiveThree();
    expect(client.received('change', (event) => event.seq > 1).map(([e]) => e.seq)).toEqual([2, 3]);
    expect(client.received('resync_required')).toEqual([]);
    expect(client.events({ direction: 'ack' })).toHaveLength(1);
    expect(
      client.events({ direction: 'in', where: (entry) => entry.args.length === 1 }),
    ).toHaveLength(3);
    expect(client.events({ event: 'subscribe' }).map((entry) => entry.direction)).toEqual([
      'out',
      'ack',
    ]);
  });

  it('waits for a count of events', async () => {
    const client = await connect();
    await client.emitWithAck('subscribe', { stream });
    const all = await client.waitForCount('change', 3);
    expect(all).toHaveLength(3);
  });

  it('waits for an event that arrives after the wait started', async () => {
    const client = await connectAndReceiveThree();
    const fourth = client.waitFor('change', { predicate: (event) => event.seq === 4 });
    server.emitChange(4);
    expect((await fourth)[0].seq).toBe(4);
  });

  it('times out with a list of what did arrive', async () => {
    const client = await connectAndReceiveThree();
    const error = await client
      .waitFor('change', { predicate: (event) => event.seq === 99, timeout: 100 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WaitForTimeoutError);
    expect((error as Error).message).toContain('no matching "change" within 100 ms');
    expect((error as Error).message).toContain(`(${client.name}, state connected)`);
    expect((error as Error).message).toContain('"seq":3');
    expect((error as WaitForTimeoutError).code).toBe('wait_timeout');
  });

  it('says how many arrived when waitForCount times out', async () => {
    const client = await connectAndReceiveThree();
    const error = await client.waitForCount('change', 5, { timeout: 100 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WaitForTimeoutError);
    expect((error as Error).message).toMatch(/^only 3 of 5 matching "change" within 100 ms/);
  });

  it('says nothing was received when nothing was', async () => {
    const client = await connect();
    await expect(client.waitFor('change', { timeout: 50 })).rejects.toThrow(
      /nothing was received$/,
    );
  });

  it('passes expectNoEvent when nothing arrives in time', async () => {
    const client = await connectAndReceiveThree();
    await client.expectNoEvent(100);
    await client.expectNoEvent('change', { within: 100 });
  });

  it('fails expectNoEvent as soon as a forbidden event arrives', async () => {
    const client = await connect();
    const started = Date.now();
    const quiet = client.expectNoEvent('change', { within: 5000 });
    await client.emitWithAck('subscribe', { stream });
    const error = await quiet.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnexpectedEventError);
    expect((error as Error).message).toMatch(
      /^expected no matching "change" for 5000 ms on client-\d+, but received: change \{.*"seq":1/,
    );
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('lets other events through expectNoEvent with a predicate', async () => {
    const client = await connect();
    const quiet = client.expectNoEvent('change', {
      within: 200,
      predicate: (event) => event.seq === 99,
    });
    await client.emitWithAck('subscribe', { stream });
    await expect(quiet).resolves.toBeUndefined();
    expect(client.received('change')).toHaveLength(3);
  });

  it('rejects emitWithAck with an AckError when the server never acks', async () => {
    const client = await connect();
    const error = await client
      .emitWithAck('unsubscribe', { stream }, { timeout: 100 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AckError);
    expect(error).toMatchObject({ reason: 'timeout', event: 'unsubscribe', code: 'ack_failed' });
    expect((error as Error).message).toContain('"unsubscribe"');
    expect((error as Error).message).toContain('no ack within 100 ms');
  });

  it('rejects pending waits when closed', async () => {
    const client = await connect();
    const pending = client.waitFor('change', { timeout: 5000 });
    const state = client.waitForState('reconnecting', { timeout: 5000 });
    client.close();
    await expect(pending).rejects.toBeInstanceOf(ClientClosedError);
    await expect(pending).rejects.toThrow(/was closed while waiting for "change"/);
    await expect(state).rejects.toThrow(/waiting for state "reconnecting"/);
  });

  it('tracks the last seq of each stream', async () => {
    const client = await connect();
    expect(client.lastSeq(stream)).toBe(0);
    await client.emitWithAck('subscribe', { stream });
    await client.waitForCount('change', 3);
    expect(client.lastSeq(stream)).toBe(3);
    expect(client.lastSeq('conversation:other')).toBe(0);
    expect(client.changes(stream).map(({ change: c }) => c.seq)).toEqual([1, 2, 3]);
  });

  it('counts the changes of a batched `changes` event', async () => {
    const client = await connect();
    const batch = [change(1), change(2)];
    // `changes` is not in the protocol's event map yet; the raw emit stands in for a batch.
    (server.io as unknown as { emit(event: string, payload: unknown): void }).emit(
      'changes',
      batch,
    );
    await client.expectReceivedOnce(stream, 2, { timeout: 2000 });
    expect(client.lastSeq(stream)).toBe(2);
  });

  it('asserts exactly-once, in-order delivery on one client', async () => {
    const client = await connectAndReceiveThree();
    await client.expectReceivedOnce(stream, 3);
    await client.expectReceivedOnce(stream, [1, 2, 3]);
    const error = await client
      .expectReceivedOnce(stream, 4, { timeout: 100 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeliveryAssertionError);
    expect((error as Error).message).toContain(`${client.name}: missing 4 (received 1, 2, 3)`);
  });
});
