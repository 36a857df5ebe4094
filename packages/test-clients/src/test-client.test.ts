import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ChangeEvent, ClientToServerEvents, ServerToClientEvents } from '@ccs/protocol';
import { Server } from 'socket.io';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TestClient } from './test-client.js';
import { WaitForTimeoutError } from './wait-for-timeout-error.js';

const stream = 'conversation:0b6d4c1e-8a43-4d4e-9a3b-2f1d8c7e6a5b' as const;

function change(seq: number): ChangeEvent {
  return {
    stream,
    seq,
    kind: 'message.created',
    committedAt: new Date().toISOString(),
    data: {
      id: `m${seq}`,
      conversationId: 'c',
      authorId: 'a',
      deviceId: 'd',
      clientId: `c${seq}`,
      body: `body ${seq}`,
      createdAt: new Date().toISOString(),
    },
  };
}

let io: Server<ClientToServerEvents, ServerToClientEvents>;
let url: string;
const clients: TestClient[] = [];

beforeEach(async () => {
  const http = createServer();
  io = new Server(http);
  io.use((socket, next) => {
    if (socket.handshake.auth['token'] === 'good') next();
    else next(Object.assign(new Error('bad token'), { data: { code: 'unauthorized' } }));
  });
  // A scripted server: a subscribe is answered, then three changes follow.
  io.on('connection', (socket) => {
    socket.on('subscribe', (_payload, ack) => {
      ack({ ok: true, head: 0 });
      for (const seq of [1, 2, 3]) socket.emit('change', change(seq));
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
});

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await io.close();
});

async function connect(token = 'good'): Promise<TestClient> {
  const client = new TestClient({ url, token });
  clients.push(client);
  await client.open();
  return client;
}

describe('TestClient', () => {
  it('rejects connect with the server error data', async () => {
    await expect(connect('bad')).rejects.toMatchObject({ data: { code: 'unauthorized' } });
  });

  it('records the ack and every change, and waits for one by predicate', async () => {
    const client = await connect();
    const ack = await client.emitWithAck('subscribe', { stream });
    expect(ack).toEqual({ ok: true, head: 0 });
    const [third] = await client.waitFor('change', { predicate: (event) => event.seq === 3 });
    expect(third.seq).toBe(3);
    expect(client.received('change').map(([event]) => event.seq)).toEqual([1, 2, 3]);
    expect(client.history[0]).toMatchObject({ direction: 'out', event: 'subscribe' });
  });

  it('waits for a count of events', async () => {
    const client = await connect();
    await client.emitWithAck('subscribe', { stream });
    const all = await client.waitForCount('change', 3);
    expect(all).toHaveLength(3);
  });

  it('times out with a list of what did arrive', async () => {
    const client = await connect();
    await client.emitWithAck('subscribe', { stream });
    await client.waitForCount('change', 3);
    const error = await client
      .waitFor('change', { predicate: (event) => event.seq === 99, timeout: 100 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WaitForTimeoutError);
    expect((error as Error).message).toContain('no matching "change" within 100 ms');
    expect((error as Error).message).toContain('"seq":3');
  });
});
