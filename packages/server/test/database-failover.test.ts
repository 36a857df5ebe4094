import { seedConversationScenario } from '@ccs/fixtures';
import type { ErrorCode, StreamName, WireError } from '@ccs/protocol';
import {
  AckError,
  TestClient,
  type ClientEventAck,
  type ClientEventName,
  type ClientEventPayload,
} from '@ccs/test-clients';
import type { TestDatabase } from '@ccs/test-env/vitest';
import { describe, expect } from 'vitest';
import { TEST_SERVER_JWT_SECRET as jwtSecret } from '@ccs/test-server';
import { test } from './server-fixtures.js';
import {
  capturingLogger,
  closeWithin,
  lentConnections,
  startLoggedServer,
} from './logged-server.js';

/** Rounds of terminating every backend of the test database. */
const ROUNDS = 5;
/** Pause between two sends of one device: under the gateway's default 20 sends/s per device. */
const SEND_EVERY_MS = 60;
/** A device gives up a request after this many coded errors in a row. */
const MAX_ATTEMPTS = 20;
/** In every message body, so that a test can look for bodies in the log. */
const BODY_MARK = 'body-of-a-message';
/** Codes a device retries: the server could not do it now, and said so. */
const RETRYABLE: ReadonlySet<ErrorCode> = new Set(['internal', 'rate_limited']);

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The HTTP status of a GET (its body read, so nothing is left open). */
async function statusOf(url: string): Promise<number> {
  const response = await fetch(url);
  await response.text();
  return response.status;
}

/** Polls `condition` every 5 ms; rejects naming `what` after `timeoutMs`. */
async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await pause(5);
  }
}

type OkAck<E extends ClientEventName> = Extract<ClientEventAck<E>, { ok: true }>;

/** One message a device stored: its client id, its seq, and the error acks before its ok. */
interface StoredSend {
  readonly clientId: string;
  readonly seq: number;
  readonly failedAttempts: readonly ErrorCode[];
}

/**
 * A device driven as a real client drives it: it retries an error ack whose code says "later"
 * (the same request, the same client id), and after a dropped socket it reconnects and
 * resubscribes with `since` its last seq before retrying. An ack that never comes (a hang)
 * rejects with the client's AckError and fails the test.
 */
class Device {
  /** Error codes of every failed attempt so far. */
  readonly failures: ErrorCode[] = [];
  reconnects = 0;
  private subscribed = false;

  constructor(
    readonly client: TestClient,
    private readonly stream: StreamName,
  ) {}

  /**
   * Subscribes from its last seq (0 at first): what it missed is replayed, then live. Resolves
   * with the stream's head.
   */
  async subscribe(): Promise<number> {
    const { head } = await this.request('subscribe', () => ({
      stream: this.stream,
      since: this.client.lastSeq(this.stream),
    }));
    this.subscribed = true;
    return head;
  }

  async unsubscribe(): Promise<void> {
    this.subscribed = false;
    await this.request('unsubscribe', () => ({ stream: this.stream }));
  }

  async send(message: ClientEventPayload<'message:send'>): Promise<StoredSend> {
    const failedBefore = this.failures.length;
    const ack = await this.request('message:send', () => message);
    return {
      clientId: message.clientId,
      seq: ack.seq,
      failedAttempts: this.failures.slice(failedBefore),
    };
  }

  private async request<E extends ClientEventName>(
    event: E,
    payload: () => ClientEventPayload<E>,
  ): Promise<OkAck<E>> {
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const ack = await this.client.emitWithAck(event, payload()).catch(async (error: unknown) => {
        if (!(error instanceof AckError) || error.reason !== 'disconnected') throw error;
        await this.resume();
        return undefined;
      });
      if (ack === undefined) continue;
      if (ack.ok) return ack as OkAck<E>;
      const wire: WireError = ack.error;
      this.failures.push(wire.code);
      if (!RETRYABLE.has(wire.code)) {
        throw new Error(`${this.client.name}: ${event} refused: ${JSON.stringify(wire)}`);
      }
      await pause(Math.min(wire.retryAfterMs ?? 10 * attempt, 1000));
    }
    throw new Error(`${this.client.name}: ${event} still failing after ${MAX_ATTEMPTS} attempts`);
  }

  private async resume(): Promise<void> {
    this.reconnects++;
    await this.client.reconnect();
    if (this.subscribed) await this.subscribe();
  }
}

/**
 * Blocks inserts into `messages`, waits until a send of the server waits on that lock (so a
 * write is in flight), then terminates every other backend of the test database: the server's
 * pool, its relay's tail, that send. Resolves with how many backends it terminated.
 */
async function terminateBackendsDuringASend(database: TestDatabase): Promise<number> {
  const holder = await database.pool.connect();
  try {
    await holder.query('BEGIN');
    await holder.query('LOCK TABLE messages IN SHARE ROW EXCLUSIVE MODE');
    await expect
      .poll(
        async () => {
          const { rows } = await holder.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1
             AND application_name = 'ccs-sync-server' AND wait_event_type = 'Lock'`,
            [database.name],
          );
          return rows[0]!.n;
        },
        { timeout: 5000, interval: 5 },
      )
      .toBeGreaterThan(0);
    const { rowCount } = await holder.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
       WHERE datname = $1 AND pid <> pg_backend_pid()`,
      [database.name],
    );
    return rowCount ?? 0;
  } finally {
    const failed = await holder.query('ROLLBACK').then(
      () => undefined,
      (error: Error) => error,
    );
    holder.release(failed);
  }
}

describe('PostgreSQL connections terminated under load', () => {
  test('the server keeps serving: every send acks, retries write once, delivery stays dense', async ({
    database,
    testEnv,
    redisNamespace,
  }) => {
    const log = capturingLogger();
    const server = await startLoggedServer({ database, testEnv, redisNamespace }, log.logger);
    const scenario = await seedConversationScenario(database.db, {
      jwtSecret,
      devicesPerUser: [2, 1],
    });
    const { stream } = scenario;
    const conversationId = scenario.conversation.id;
    const [aliceLaptop, alicePhone, bobLaptop] = await Promise.all(
      scenario.users
        .flatMap(({ devices }) => devices)
        .map(async (device, index) => {
          const client = new TestClient({
            url: server.url,
            token: device.token,
            name: `d${index}`,
          });
          await client.open();
          return new Device(client, stream);
        }),
    );
    const devices = [aliceLaptop!, alicePhone!, bobLaptop!];
    const stored: StoredSend[] = [];
    let stopped = false;

    /** Sends `<prefix>-0`, `<prefix>-1`, … until the faults are over. */
    const sendUntilStopped = async (device: Device, prefix: string): Promise<void> => {
      for (let i = 0; !stopped; i++) {
        const clientId = `${prefix}-${i}`;
        const body = `${BODY_MARK} ${prefix} ${i}`;
        stored.push(await device.send({ conversationId, clientId, body }));
        await pause(SEND_EVERY_MS);
      }
    };
    /** Leaves the stream, lets two messages pass, and resumes with `since` (a replay); again. */
    const replayUntilStopped = async (device: Device): Promise<number> => {
      let replays = 0;
      while (!stopped) {
        await device.unsubscribe();
        const target = stored.length + 2;
        await until(() => stopped || stored.length >= target, 'two sends while unsubscribed');
        await device.subscribe();
        replays++;
      }
      return replays;
    };
    const injectFaults = async (): Promise<number[]> => {
      const terminated: number[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        // Sends get through between two rounds: the server recovered from the previous one.
        const target = stored.length + 3;
        await until(() => stored.length >= target, `three sends before round ${round + 1}`);
        terminated.push(await terminateBackendsDuringASend(database));
      }
      return terminated;
    };

    /** The devices' loops; rejects as soon as one of them fails. */
    let work: Promise<unknown> | undefined;
    try {
      // The stream's changes so far (the conversation and its members): messages come after.
      const [seeded] = await Promise.all(devices.map((device) => device.subscribe()));
      const replaying = replayUntilStopped(alicePhone!);
      work = Promise.all([
        sendUntilStopped(aliceLaptop!, 'alice'),
        sendUntilStopped(bobLaptop!, 'bob'),
        replaying,
      ]);
      const terminated = await Promise.race([
        injectFaults(),
        work.then(() => Promise.reject(new Error('devices stopped before the faults ended'))),
      ]);
      stopped = true;
      await work;
      const replays = await replaying;

      // Every round ended the server's connections, a send in flight among them.
      expect(terminated).toHaveLength(ROUNDS);
      for (const count of terminated) expect(count).toBeGreaterThan(0);
      expect(replays).toBeGreaterThan(0);
      // Each failed attempt was a coded error ack a device may retry, never a hang or a drop.
      const failures = devices.flatMap((device) => device.failures);
      for (const code of failures) expect(RETRYABLE.has(code)).toBe(true);
      // The terminated sends were retried with their client ids, and then stored.
      expect(stored.filter((send) => send.failedAttempts.includes('internal'))).not.toEqual([]);

      // The server is alive and ready again, and delivery resumes.
      expect(await statusOf(`${server.url}/healthz`)).toBe(200);
      await expect.poll(() => statusOf(`${server.url}/readyz`), { timeout: 10_000 }).toBe(200);
      stored.push(await bobLaptop!.send({ conversationId, clientId: 'after', body: 'after' }));
      const sent = stored.length;
      const head = seeded! + sent;

      // One row per send, retries included, and one seq each, right after the seeded ones.
      const { rows } = await database.pool.query<{ messages: number; sends: number }>(
        `SELECT count(*)::int AS messages, count(DISTINCT (device_id, client_id))::int AS sends
         FROM messages WHERE conversation_id = $1`,
        [conversationId],
      );
      expect(rows[0]).toEqual({ messages: sent, sends: sent });
      const seqs = stored.map((send) => send.seq).sort((a, b) => a - b);
      expect(seqs).toEqual(Array.from({ length: sent }, (_, index) => seeded! + index + 1));
      // Every device got 1…head once, in order (the phone through its replays).
      for (const device of devices) {
        await device.client.expectReceivedOnce(stream, head, { timeout: 10_000 });
      }
      expect(devices.map((device) => device.reconnects)).toEqual([0, 0, 0]);

      // No log line carries a message body (log-redaction.test.ts proves the redaction itself).
      expect(log.text()).not.toContain(BODY_MARK);
      // Every connection the server's pools lent came back, so it can shut down. (drizzle's
      // transaction() does not give back a connection on which BEGIN failed: see
      // packages/db/test/transaction-connection-release.test.ts.)
      const failedBegins = log.lines().filter((line) => line.err?.['query'] === 'begin').length;
      for (const [name, { pool }] of [
        ['main', server.database],
        ['auth', server.authDatabase],
      ] as const) {
        await expect
          .poll(() => lentConnections(pool), {
            timeout: 2000,
            interval: 10,
            message: `connections the ${name} pool lent and never got back (failed BEGINs logged: ${failedBegins})`,
          })
          .toBe(0);
      }
      await closeWithin(server, 10_000);
    } finally {
      stopped = true;
      await work?.catch(() => undefined);
      for (const device of devices) device.client.close();
      // Not awaited: a server that lost a connection for good never finishes closing.
      void server.close();
    }
  }, 30_000);
});
