import { CLIENT_EVENTS, ERROR_CODES, type Ack } from '@ccs/protocol';
import { TestClient } from '@ccs/test-clients';
import type { TestDatabase } from '@ccs/test-env';
import fc from 'fast-check';
import { Registry } from 'prom-client';
import type { Socket } from 'socket.io-client';
import { describe, expect, onTestFinished } from 'vitest';
import { createGatewayMetrics } from '../src/gateway-metrics.js';
import { devicesOf, test } from './gateway-fixtures.js';
import { startGatewayHarness } from './gateway-harness.js';

/** The client's socket without the protocol's types: it sends what no typed client would. */
function raw(client: TestClient): Socket {
  return client.socket as unknown as Socket;
}

async function rowCounts(database: TestDatabase): Promise<{ messages: number; changes: number }> {
  const { rows } = await database.pool.query<{ messages: string; changes: string }>(
    'SELECT (SELECT count(*) FROM messages) AS messages, (SELECT count(*) FROM change_log) AS changes',
  );
  return { messages: Number(rows[0]!.messages), changes: Number(rows[0]!.changes) };
}

/** A gateway that records metrics, and a connected client of Alice's laptop. */
async function withMetrics(database: TestDatabase, token: string) {
  const registry = new Registry();
  const harness = await startGatewayHarness(database, {
    metrics: createGatewayMetrics(registry),
    limits: { sendsPerSecond: 10_000, sendBurst: 10_000 },
  });
  const client = new TestClient({ url: harness.url, token });
  onTestFinished(async () => {
    client.close();
    await harness.close();
  });
  await client.open();
  const rejected = async (labels: string): Promise<number> => {
    const metric = await registry.getSingleMetricAsString('ccs_client_events_rejected_total');
    const line = metric
      .split('\n')
      .find((l) => l.startsWith(`ccs_client_events_rejected_total{${labels}}`));
    return line ? Number(line.split(' ').at(-1)) : 0;
  };
  return { client, rejected };
}

describe('every client event gets an answer', () => {
  test('an unknown event gets unknown_event and is counted', async ({ database, scenario }) => {
    const { client, rejected } = await withMetrics(database, devicesOf(scenario).aliceLaptop.token);
    const ack = (await raw(client)
      .timeout(2000)
      .emitWithAck('typing:start', { stream: scenario.stream })) as Ack;
    expect(ack).toEqual({
      ok: false,
      error: { code: 'unknown_event', message: expect.stringContaining('typing:start') },
    });
    expect(await rejected('event="(unknown)",code="unknown_event"')).toBe(1);
    expect(client.state).toBe('connected');
  });

  test('an event without an ack, and an ack the server never asked for, are counted', async ({
    database,
    scenario,
  }) => {
    const { client, rejected } = await withMetrics(database, devicesOf(scenario).aliceLaptop.token);
    raw(client).emit('subscribe', { stream: scenario.stream });
    // An ACK packet (type 3) for an ack id the server never used.
    raw(client).io.engine.write('3999["surprise"]');
    await expect.poll(() => rejected('event="subscribe",code="invalid_payload"')).toBe(1);
    await expect.poll(() => rejected('event="(ack)",code="unexpected_ack"')).toBe(1);
    // The ack-less subscribe did not subscribe the socket, and the socket is up.
    expect(await client.emitWithAck('subscribe', { stream: scenario.stream })).toMatchObject({
      ok: true,
    });
  });

  for (const [what, body] of [
    ['a NUL character', 'before\u0000after'],
    ['a lone surrogate', 'before\ud800after'],
  ] as const) {
    test(`a body with ${what} is refused as invalid_payload, not failed or altered by the database`, async ({
      scenario,
      connect,
      database,
    }) => {
      const client = await connect(devicesOf(scenario).aliceLaptop.token);
      const before = await rowCounts(database);
      const ack = await client.emitWithAck('message:send', {
        conversationId: scenario.conversation.id,
        clientId: 'unstorable',
        body,
      });
      expect(ack).toMatchObject({
        ok: false,
        error: { code: 'invalid_payload', message: expect.stringContaining('body') },
      });
      expect(await rowCounts(database)).toEqual(before);
    });
  }

  test('fuzz: any event with any arguments gets a coded error, the socket stays up, nothing is written', async ({
    database,
    scenario,
  }) => {
    const { client } = await withMetrics(database, devicesOf(scenario).aliceLaptop.token);
    const before = await rowCounts(database);
    const event = fc.oneof(fc.constantFrom(...CLIENT_EVENTS), fc.string({ maxLength: 40 }));
    const args = fc.array(fc.anything(), { maxLength: 3 });
    await fc.assert(
      fc.asyncProperty(event, args, async (name, payloads) => {
        fc.pre(
          ![
            'connect',
            'connect_error',
            'disconnect',
            'disconnecting',
            'newListener',
            'removeListener',
          ].includes(name),
        );
        const ack = (await raw(client)
          .timeout(2000)
          .emitWithAck(name, ...payloads)) as Ack;
        expect(ack.ok).toBe(false);
        if (!ack.ok) expect(ERROR_CODES).toContain(ack.error.code);
        expect(client.state).toBe('connected');
      }),
      { numRuns: 300 },
    );
    expect(await rowCounts(database)).toEqual(before);
  });

  test('fuzz: a send of any text to a conversation of the user is written once or refused as invalid_payload', async ({
    database,
    scenario,
  }) => {
    const { client } = await withMetrics(database, devicesOf(scenario).aliceLaptop.token);
    let sent = 0;
    const stored = new Map<string, string>();
    await fc.assert(
      fc.asyncProperty(
        fc.string({ unit: 'binary', maxLength: 80 }),
        fc.oneof(
          fc.string({ unit: 'binary', maxLength: 200 }),
          fc.string({
            unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
            maxLength: 50,
          }),
        ),
        async (clientId, body) => {
          const ack = await client.emitWithAck('message:send', {
            conversationId: scenario.conversation.id,
            clientId: `${sent++}:${clientId}`,
            body,
          });
          if (!ack.ok) expect(ack.error.code).toBe('invalid_payload');
          else stored.set(ack.id, body);
        },
      ),
      { numRuns: 200 },
    );
    // Every acked send is stored once, exactly as sent; nothing else is.
    const { rows } = await database.pool.query<{ id: string; body: string }>(
      'SELECT id, body FROM messages WHERE device_id = $1',
      [devicesOf(scenario).aliceLaptop.id],
    );
    expect(new Map(rows.map((row) => [row.id, row.body]))).toEqual(stored);
  });
});
