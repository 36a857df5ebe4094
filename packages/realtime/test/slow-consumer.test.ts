import { TestClient } from '@ccs/test-clients';
import { Registry } from 'prom-client';
import { describe, expect, onTestFinished } from 'vitest';
import { WebSocket } from 'ws';
import { createGatewayMetrics } from '../src/gateway-metrics.js';
import { devicesOf, test } from './gateway-fixtures.js';
import { startGatewayHarness } from './gateway-harness.js';

/**
 * A bare WebSocket speaking just enough engine.io 4 / socket.io 5 to connect and subscribe, so
 * that it can then stop reading its TCP socket (`pause()`), as a stuck or hostile client does.
 */
class RawSocketIoClient {
  readonly frames: string[] = [];
  private readonly ws: WebSocket;
  private readonly waiters = new Set<() => void>();

  constructor(url: string) {
    this.ws = new WebSocket(`${url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket`);
    this.ws.on('message', (data) => {
      this.frames.push(data.toString());
      for (const waiter of this.waiters) waiter();
    });
  }

  /** Resolves with the first frame (already received or to come) that starts with `prefix`. */
  frame(prefix: string, timeoutMs = 5000): Promise<string> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const found = this.frames.find((frame) => frame.startsWith(prefix));
        if (!found) return;
        this.waiters.delete(check);
        clearTimeout(timer);
        resolve(found);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`no frame starting with ${prefix} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.add(check);
      check();
    });
  }

  async connect(token: string): Promise<void> {
    await this.frame('0{');
    this.ws.send(`40${JSON.stringify({ token })}`);
    await this.frame('40{');
  }

  async subscribe(stream: string): Promise<string> {
    this.ws.send(`420${JSON.stringify(['subscribe', { stream }])}`);
    return this.frame('430');
  }

  /** Stops reading: the kernel buffers fill, then the server's. */
  pause(): void {
    this.ws.pause();
  }

  resume(): void {
    this.ws.resume();
  }

  close(): void {
    this.ws.terminate();
  }
}

const BODY_CHARS = 16 * 1024;

describe('slow consumers', () => {
  test(
    'a socket that stops reading is told to resync and dropped; the rest of the room gets everything',
    { timeout: 30_000 },
    async ({ database, scenario }) => {
      const registry = new Registry();
      const harness = await startGatewayHarness(database, {
        metrics: createGatewayMetrics(registry),
        limits: { outboundBufferBytes: 512 * 1024 },
      });
      const stuck = new RawSocketIoClient(harness.url);
      onTestFinished(async () => {
        stuck.close();
        await harness.close();
      });
      const { aliceLaptop, bobPhone } = devicesOf(scenario);
      await stuck.connect(aliceLaptop.token);
      expect(await stuck.subscribe(scenario.stream)).toContain('"ok":true');
      stuck.pause();
      const reader = new TestClient({ url: harness.url, token: bobPhone.token });
      onTestFinished(() => reader.close());
      await reader.open();
      await reader.emitWithAck('subscribe', { stream: scenario.stream });

      // 24 MB of messages, 100 per transaction: far more than the kernel's socket buffers and
      // the 512 KB limit, in bursts a reading client drains in time.
      const count = 1500;
      for (let first = 0; first < count; first += 100) {
        await database.pool.query(
          `INSERT INTO messages (conversation_id, author_id, device_id, client_id, body)
         SELECT $1, $2, $3, 'bulk-' || i, repeat('x', $4) FROM generate_series($5::int, $5 + 99) AS i`,
          [scenario.conversation.id, scenario.users[0]!.user.id, aliceLaptop.id, BODY_CHARS, first],
        );
      }

      const received = await reader.waitForCount('change', count, {
        predicate: (c) => c.kind === 'message.created',
        timeout: 30_000,
      });
      const seqs = received.map(([change]) => change.seq);
      expect(seqs).toEqual(Array.from({ length: count }, (_, i) => seqs[0]! + i));

      // The stuck socket is gone from the server (its room and its session).
      await expect.poll(() => harness.io.sockets.sockets.size, { timeout: 5000 }).toBe(1);
      const ended = await registry.getSingleMetricAsString('ccs_sessions_ended_total');
      expect(ended).toContain('ccs_sessions_ended_total{reason="slow_consumer"} 1');

      // Reading again, it finds the reasons after what was queued for it.
      stuck.resume();
      const resync = await stuck.frame('42["resync_required"', 10_000);
      expect(JSON.parse(resync.slice(2))).toEqual([
        'resync_required',
        { stream: scenario.stream, reason: 'slow_consumer', head: expect.any(Number) },
      ]);
      const session = await stuck.frame('42["session_ended"', 10_000);
      expect(JSON.parse(session.slice(2))[1]).toMatchObject({ reason: 'slow_consumer' });
    },
  );
});
