import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  BAD_TOKEN,
  startScriptedServer,
  stream,
  type ScriptedServer,
} from '../test/scripted-server.js';
import { StateTimeoutError } from './state-timeout-error.js';
import { TestClient } from './test-client.js';
import type { TestClientOptions } from './test-client-options.js';

let server: ScriptedServer;
const servers: ScriptedServer[] = [];
const clients: TestClient[] = [];

beforeEach(async () => {
  server = await startScriptedServer();
  servers.push(server);
});

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

function client(options: Partial<TestClientOptions> = {}): TestClient {
  const created = new TestClient({ url: server.url, token: 'good', ...options });
  clients.push(created);
  return created;
}

/** The server side of the only connected socket. */
function serverSocket(): { disconnect(close: boolean): void; conn: { close(): void } } {
  const [socket] = server.io.of('/').sockets.values();
  if (!socket) throw new Error('no socket is connected');
  return socket;
}

const path = (c: TestClient): string[] =>
  c.transitions.map((t) => (t.reason ? `${t.to} (${t.reason})` : t.to));

describe('TestClient connection state', () => {
  it('goes from idle through connecting to connected', async () => {
    const c = client();
    expect(c.state).toBe('idle');
    const opened = c.open();
    expect(c.state).toBe('connecting');
    await opened;
    await c.waitForState('connected');
    expect(path(c)).toEqual(['connecting', 'connected']);
    expect(c.transitions.map((t) => t.index)).toEqual([0, 1]);
    expect(c.transitions[1]!.at).toBeGreaterThanOrEqual(c.transitions[0]!.at);
  });

  it('ends disconnected with the connect error when the handshake is refused', async () => {
    const c = client({ token: BAD_TOKEN });
    await expect(c.open()).rejects.toThrow('bad token');
    expect(c.state).toBe('disconnected');
    expect(c.connectError).toMatchObject({ data: { code: 'unauthorized' } });
    expect(path(c)).toEqual(['connecting', 'disconnected (connect_error: bad token)']);
  });

  it('records the reason when the server disconnects it', async () => {
    const c = client();
    await c.open();
    serverSocket().disconnect(true);
    await c.waitForState('disconnected');
    expect(c.disconnectReason).toBe('io server disconnect');
  });

  it('does not reconnect after a drop by default', async () => {
    const c = client();
    await c.open();
    const mark = c.transitions.length;
    serverSocket().conn.close();
    await c.waitForState('disconnected', { since: mark });
    expect(c.disconnectReason).toBe('transport close');
    const error = await c
      .waitForState('connecting', { since: mark, timeout: 200 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StateTimeoutError);
  });

  it('reconnects on its own after a drop when asked', async () => {
    const c = client({ reconnection: true, reconnectionDelay: 20 });
    await c.open();
    await c.emitWithAck('subscribe', { stream });
    const mark = c.transitions.length;
    serverSocket().conn.close();
    await c.waitForState('reconnecting', { since: mark });
    await c.waitForState('connected', { since: mark });
    expect(path(c).slice(mark)).toEqual(['reconnecting (transport close)', 'connected']);
    await c.emitWithAck('subscribe', { stream, since: c.lastSeq(stream) });
    expect(c.sent('subscribe')).toEqual([{ stream }, { stream, since: 3 }]);
  });

  it('times out waitForState naming the states it went through', async () => {
    const c = client();
    await c.open();
    serverSocket().disconnect(true);
    await c.waitForState('disconnected');
    const error = await c.waitForState('connected', { since: 2, timeout: 100 }).catch((e) => e);
    expect(error).toBeInstanceOf(StateTimeoutError);
    expect((error as Error).message).toBe(
      `${c.name} did not reach "connected" within 100 ms; it is "disconnected" after: ` +
        'idle → connecting → connected → disconnected (io server disconnect)',
    );
  });

  it('disconnects and reconnects to the same server on the same socket', async () => {
    const c = client();
    await c.open();
    const socket = c.socket;
    c.disconnect();
    expect(c.state).toBe('disconnected');
    expect(c.disconnectReason).toBe('io client disconnect');
    await c.reconnect();
    expect(c.state).toBe('connected');
    expect(c.socket).toBe(socket);
    expect(path(c)).toEqual([
      'connecting',
      'connected',
      'disconnected (io client disconnect)',
      'connecting',
      'connected',
    ]);
  });

  it('moves to another server and resumes from the last seq', async () => {
    const other = await startScriptedServer({ head: 6 });
    servers.push(other);
    const c = client();
    await c.open();
    await c.emitWithAck('subscribe', { stream });
    await c.waitForCount('change', 3);
    await server.close();
    await c.waitForState('disconnected');

    await c.reconnect({ url: other.url });
    expect(c.url).toBe(other.url);
    const ack = await c.emitWithAck('subscribe', { stream, since: c.lastSeq(stream) });
    expect(ack).toEqual({ ok: true, head: 6 });
    await c.expectReceivedOnce(stream, 6);
    expect(c.sent('subscribe')).toEqual([{ stream }, { stream, since: 3 }]);
  });
});
