import { MAX_MESSAGE_BODY_LENGTH, type Ack, type MessageSendResult } from '@ccs/protocol';
import { TestClient, type TestClientOptions } from '@ccs/test-clients';
import type { TestDatabase } from '@ccs/test-env';
import { describe, expect, onTestFinished } from 'vitest';
import type { GatewayLimits } from '../src/gateway-limits.js';
import { devicesOf, test } from './gateway-fixtures.js';
import { startGatewayHarness } from './gateway-harness.js';

/** A gateway with these limits, closed with its clients when the test ends. */
async function gatewayWith(database: TestDatabase, limits: GatewayLimits) {
  const harness = await startGatewayHarness(database, { limits });
  const clients: TestClient[] = [];
  onTestFinished(async () => {
    for (const client of clients) client.close();
    await harness.close();
  });
  return {
    harness,
    /** A client of this gateway (not yet connected). */
    client(token: string, options: Partial<TestClientOptions> = {}): TestClient {
      const client = new TestClient({ url: harness.url, token, ...options });
      clients.push(client);
      return client;
    },
  };
}

async function messagesOf(database: TestDatabase, deviceId: string): Promise<number> {
  const { rows } = await database.pool.query<{ count: string }>(
    'SELECT count(*) FROM messages WHERE device_id = $1',
    [deviceId],
  );
  return Number(rows[0]!.count);
}

type SendAck = Ack<MessageSendResult>;

function tally(acks: readonly SendAck[]) {
  const refused = acks.filter((ack) => !ack.ok);
  return {
    ok: acks.filter((ack) => ack.ok).length,
    refused: refused.map((ack) => (ack.ok ? undefined : ack.error)),
  };
}

describe('limits against floods', () => {
  test('a flooding device is answered with rate_limited and retryAfterMs; another user connects and subscribes meanwhile', async ({
    database,
    scenario,
  }) => {
    const gateway = await gatewayWith(database, {
      sendsPerSecond: 20,
      sendBurst: 40,
      refusalsPerSecond: 100_000,
    });
    const { aliceLaptop, bobPhone } = devicesOf(scenario);
    const flooder = gateway.client(aliceLaptop.token);
    await flooder.open();
    const started = Date.now();
    // Eight lanes, each sending again as soon as its ack is back: as fast as the server answers.
    const acks: SendAck[] = [];
    const flood = Promise.all(
      Array.from({ length: 8 }, async (_, lane) => {
        for (let i = 0; i < 75; i++) {
          acks.push(
            await flooder.emitWithAck('message:send', {
              conversationId: scenario.conversation.id,
              clientId: `flood-${lane}-${i}`,
              body: `flood ${lane} ${i}`,
            }),
          );
        }
      }),
    );
    const bob = gateway.client(bobPhone.token);
    await bob.open();
    expect(await bob.emitWithAck('subscribe', { stream: scenario.stream, since: 0 })).toMatchObject(
      {
        ok: true,
      },
    );
    await flood;
    const elapsedSeconds = (Date.now() - started) / 1000;

    const { ok, refused } = tally(acks);
    expect(ok + refused.length).toBe(600);
    expect(ok).toBeGreaterThanOrEqual(40);
    expect(ok).toBeLessThanOrEqual(40 + Math.ceil(20 * elapsedSeconds) + 1);
    for (const error of refused) {
      expect(error).toMatchObject({
        code: 'rate_limited',
        message: expect.stringContaining('writes over 20 times per second'),
      });
      expect(error!.retryAfterMs).toBeGreaterThan(0);
    }
    expect(await messagesOf(database, aliceLaptop.id)).toBe(ok);
    await bob.waitForCount('change', ok, { predicate: (c) => c.kind === 'message.created' });

    // Waiting as told is enough.
    const last = refused.at(-1)!;
    await new Promise((resolve) => setTimeout(resolve, last.retryAfterMs));
    const retried = await flooder.emitWithAck('message:send', {
      conversationId: scenario.conversation.id,
      clientId: 'after-waiting',
      body: 'waited as told',
    });
    expect(retried.ok).toBe(true);
  });

  test('a socket that keeps sending past rate_limited is disconnected, and its device reconnects only so fast', async ({
    database,
    scenario,
  }) => {
    const gateway = await gatewayWith(database, {
      sendsPerSecond: 1,
      sendBurst: 1,
      refusalsPerSecond: 20,
      connectsPerSecond: 1,
      connectBurst: 2,
    });
    const { aliceLaptop } = devicesOf(scenario);
    const flooder = gateway.client(aliceLaptop.token);
    await flooder.open();
    // Not waiting for acks: 50 sends at once, 49 of them refused within the same second.
    for (let i = 0; i < 50; i++) {
      flooder.socket.emit(
        'message:send',
        { conversationId: scenario.conversation.id, clientId: `f-${i}`, body: 'x' },
        () => undefined,
      );
    }
    const [ended] = await flooder.waitFor('session_ended');
    expect(ended).toEqual({ reason: 'flooding', message: expect.stringContaining('retryAfterMs') });
    await flooder.waitForState('disconnected');

    // Its second handshake of the burst is allowed, the third is refused until a token refills.
    const again = gateway.client(aliceLaptop.token);
    await again.open();
    again.close();
    await expect(gateway.client(aliceLaptop.token).open()).rejects.toMatchObject({
      data: {
        code: 'rate_limited',
        message: expect.stringContaining('connects'),
        retryAfterMs: expect.any(Number),
      },
    });
  });

  test('a socket may have only so many sends awaiting their ack', async ({
    database,
    scenario,
  }) => {
    const gateway = await gatewayWith(database, {
      sendsInFlightPerSocket: 2,
      sendsPerSecond: 10_000,
      sendBurst: 10_000,
    });
    const client = gateway.client(devicesOf(scenario).aliceLaptop.token);
    await client.open();
    const acks = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        client.emitWithAck('message:send', {
          conversationId: scenario.conversation.id,
          clientId: `in-flight-${i}`,
          body: `${i}`,
        }),
      ),
    );
    const { ok, refused } = tally(acks);
    expect(ok).toBeGreaterThanOrEqual(2);
    expect(refused.length).toBeGreaterThan(0);
    for (const error of refused) {
      expect(error).toMatchObject({
        code: 'rate_limited',
        message: expect.stringContaining('await their ack'),
      });
    }
  });

  test('events past the batch limit of one long-polling request are refused, each answered', async ({
    database,
    scenario,
  }) => {
    const gateway = await gatewayWith(database, {
      eventsPerBatch: 10,
      sendsInFlightPerSocket: 1000,
      sendsPerSecond: 10_000,
      sendBurst: 10_000,
    });
    const { aliceLaptop } = devicesOf(scenario);
    const client = gateway.client(aliceLaptop.token, { transport: 'polling' });
    await client.open();
    // Emitted in one go, they leave together in one or two POSTs.
    const acks = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        client.emitWithAck('message:send', {
          conversationId: scenario.conversation.id,
          clientId: `batch-${i}`,
          body: `${i}`,
        }),
      ),
    );
    const { ok, refused } = tally(acks);
    expect(ok + refused.length).toBe(200);
    expect(ok).toBeLessThanOrEqual(40);
    expect(refused.length).toBeGreaterThan(0);
    for (const error of refused) {
      expect(error).toMatchObject({
        code: 'rate_limited',
        message: expect.stringContaining('in one request'),
        retryAfterMs: expect.any(Number),
      });
    }
    expect(await messagesOf(database, aliceLaptop.id)).toBe(ok);
  });

  test('sockets per device and per user are bounded, counting handshakes', async ({
    database,
    scenario,
  }) => {
    const gateway = await gatewayWith(database, { socketsPerDevice: 2, socketsPerUser: 3 });
    const { aliceLaptop, alicePhone } = devicesOf(scenario);
    const laptops = [gateway.client(aliceLaptop.token), gateway.client(aliceLaptop.token)];
    await Promise.all(laptops.map((client) => client.open()));
    const third = gateway.client(aliceLaptop.token);
    await expect(third.open()).rejects.toMatchObject({
      data: { code: 'rate_limited', retryAfterMs: expect.any(Number) },
    });
    const phones = [gateway.client(alicePhone.token), gateway.client(alicePhone.token)];
    await phones[0]!.open();
    await expect(phones[1]!.open()).rejects.toMatchObject({
      data: { code: 'rate_limited', message: expect.stringContaining('user') },
    });

    laptops[0]!.close();
    const again = gateway.client(aliceLaptop.token);
    // The server counts the closed socket out once it sees the disconnect.
    await expect
      .poll(async () => {
        try {
          await again.open();
          return 'connected';
        } catch {
          return 'refused';
        }
      })
      .toBe('connected');
  });

  test('a full send queue refuses at once instead of queueing without bound', async ({
    database,
    scenario,
  }) => {
    const gateway = await gatewayWith(database, { concurrentSends: 1, queuedSends: 0 });
    const { aliceLaptop, alicePhone, bobPhone } = devicesOf(scenario);
    const clients = [aliceLaptop, alicePhone, bobPhone].map((device) =>
      gateway.client(device.token),
    );
    await Promise.all(clients.map((client) => client.open()));
    const acks = await Promise.all(
      clients.flatMap((client, c) =>
        Array.from({ length: 4 }, (_, i) =>
          client.emitWithAck('message:send', {
            conversationId: scenario.conversation.id,
            clientId: `queue-${c}-${i}`,
            body: 'queued?',
          }),
        ),
      ),
    );
    const { ok, refused } = tally(acks);
    expect(ok).toBeGreaterThan(0);
    expect(refused.length).toBeGreaterThan(0);
    for (const error of refused) {
      expect(error).toMatchObject({
        code: 'rate_limited',
        message: expect.stringContaining('waiting for the database'),
        retryAfterMs: expect.any(Number),
      });
    }
  });
});

describe('frame size', () => {
  for (const transport of ['websocket', 'polling'] as const) {
    test(`a body that passes validation is never refused for how it encodes (${transport})`, async ({
      scenario,
      harness,
      connect,
    }) => {
      const { aliceLaptop, bobPhone } = devicesOf(scenario);
      const bob = await connect(bobPhone.token);
      await bob.emitWithAck('subscribe', { stream: scenario.stream });
      const sender = new TestClient({ url: harness.url, token: aliceLaptop.token, transport });
      onTestFinished(() => sender.close());
      await sender.open();
      // Every control character is written as a six-byte \\u00XX escape in JSON.
      const body = '\u0001'.repeat(MAX_MESSAGE_BODY_LENGTH);
      const ack = await sender.emitWithAck('message:send', {
        conversationId: scenario.conversation.id,
        clientId: `escaped-${transport}`,
        body,
      });
      expect(ack.ok).toBe(true);
      const [change] = await bob.waitFor('change', {
        predicate: (c) => c.kind === 'message.created',
      });
      expect(change.kind === 'message.created' && change.data.body).toBe(body);
    });
  }
});

describe('socket counts', () => {
  test('a client that leaves during its handshake is not counted against its device', async ({
    database,
    scenario,
  }) => {
    const gateway = await gatewayWith(database, { socketsPerDevice: 1 });
    const { aliceLaptop } = devicesOf(scenario);
    // Hold the device look-up: the handshake waits on the lock while the client gives up.
    const holder = await database.pool.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('LOCK TABLE devices IN ACCESS EXCLUSIVE MODE');
      const leaving = gateway.client(aliceLaptop.token);
      const opening = leaving.open();
      await expect
        .poll(async () => {
          const { rows } = await database.pool.query<{ waiting: string }>(
            `SELECT count(*) AS waiting FROM pg_locks WHERE relation = 'devices'::regclass AND NOT granted`,
          );
          return Number(rows[0]!.waiting);
        })
        .toBeGreaterThan(0);
      leaving.close();
      await expect(opening).rejects.toMatchObject({ code: 'client_closed' });
      // The server saw it go before its handshake could end.
      await expect.poll(() => gateway.harness.io.engine.clientsCount).toBe(0);
      await holder.query('COMMIT');
    } finally {
      holder.release();
    }
    // Its slot is free again: the device's one allowed socket connects.
    await expect
      .poll(async () => {
        const next = gateway.client(aliceLaptop.token);
        try {
          await next.open();
          return 'connected';
        } catch {
          return 'refused';
        } finally {
          next.close();
        }
      })
      .toBe('connected');
  });
});
