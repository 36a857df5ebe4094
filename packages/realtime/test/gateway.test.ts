import { readChanges } from '@ccs/db';
import { SignJWT } from 'jose';
import { createMessage, seedConversationScenario } from '@ccs/fixtures';
import {
  DEFAULT_RECEIVED_REPORT_MS,
  isChangeOf,
  signDeviceToken,
  type ChangeEvent,
  type StreamName,
} from '@ccs/protocol';
import { TestClient } from '@ccs/test-clients';
import type { TestDatabase } from '@ccs/test-env/vitest';
import { devicesOf, test } from './gateway-fixtures.js';
import { describe, expect } from 'vitest';
import { jwtSecret, startGatewayHarness } from './gateway-harness.js';

async function messageChanges(database: TestDatabase, stream: StreamName) {
  const changes = await readChanges(database.db, stream, 0, 1000);
  return changes.filter((change) => change.kind.startsWith('message.'));
}

describe('gateway handshake', () => {
  test('refuses a socket without a token', async ({ harness }) => {
    const client = new TestClient({ url: harness.url, token: '' });
    await expect(client.open()).rejects.toMatchObject({ data: { code: 'unauthorized' } });
    client.close();
  });

  test('refuses a token that never expires', async ({ harness, scenario }) => {
    const { aliceLaptop } = devicesOf(scenario);
    const forever = await new SignJWT({ uid: aliceLaptop.userId })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(aliceLaptop.id)
      .setIssuer('ccs')
      .setIssuedAt()
      .sign(new TextEncoder().encode(jwtSecret));
    const client = new TestClient({ url: harness.url, token: forever });
    await expect(client.open()).rejects.toMatchObject({ data: { code: 'unauthorized' } });
    client.close();
  });

  test('refuses a token signed with another secret', async ({ harness, scenario }) => {
    const { aliceLaptop } = devicesOf(scenario);
    const token = await signDeviceToken(
      { userId: aliceLaptop.userId, deviceId: aliceLaptop.id },
      { secret: 'another-secret-0123456789' },
    );
    const client = new TestClient({ url: harness.url, token });
    await expect(client.open()).rejects.toMatchObject({ data: { code: 'unauthorized' } });
    client.close();
  });

  test('refuses a revoked device', async ({ harness, scenario, database }) => {
    const { aliceLaptop } = devicesOf(scenario);
    await database.pool.query('UPDATE devices SET revoked_at = now() WHERE id = $1', [
      aliceLaptop.id,
    ]);
    const client = new TestClient({ url: harness.url, token: aliceLaptop.token });
    await expect(client.open()).rejects.toMatchObject({
      data: { code: 'unauthorized', message: expect.stringContaining('revoked') },
    });
    client.close();
  });
});

describe('gateway subscribe and send', () => {
  test('delivers a send to every device of the conversation, after an ack with its seq', async ({
    scenario,
    connect,
  }) => {
    const { aliceLaptop, alicePhone, bobPhone } = devicesOf(scenario);
    const clients = await Promise.all(
      [aliceLaptop, alicePhone, bobPhone].map((d) => connect(d.token)),
    );
    // The stream already holds the conversation and its two memberships.
    for (const client of clients) {
      expect(await client.emitWithAck('subscribe', { stream: scenario.stream })).toEqual({
        ok: true,
        head: 3,
        receivedReportMs: expect.any(Number),
      });
    }
    const ack = await clients[0]!.emitWithAck('message:send', {
      conversationId: scenario.conversation.id,
      clientId: 'c-1',
      body: 'hello from the laptop',
    });
    expect(ack).toMatchObject({ ok: true, stream: scenario.stream, seq: 4 });
    for (const client of clients) {
      const [change] = await client.waitFor('change', { predicate: (c) => c.seq === 4 });
      expect(change).toMatchObject({
        stream: scenario.stream,
        kind: 'message.created',
        data: { body: 'hello from the laptop', deviceId: aliceLaptop.id, clientId: 'c-1' },
      });
      expect(Date.parse(change.committedAt)).not.toBeNaN();
    }
  });

  test('delivers a message inserted with plain SQL, by anyone', async ({
    scenario,
    connect,
    database,
  }) => {
    const { bobPhone, aliceLaptop } = devicesOf(scenario);
    const bob = await connect(bobPhone.token);
    await bob.emitWithAck('subscribe', { stream: scenario.stream });
    await database.pool.query(
      `INSERT INTO messages (conversation_id, author_id, device_id, client_id, body) VALUES ($1, $2, $3, 'psql-1', 'typed in psql')`,
      [scenario.conversation.id, aliceLaptop.userId, aliceLaptop.id],
    );
    const [change] = await bob.waitFor('change');
    expect(change).toMatchObject({ kind: 'message.created', data: { body: 'typed in psql' } });
  });

  test('a retried send returns the same row and is delivered once', async ({
    scenario,
    connect,
  }) => {
    const { aliceLaptop, bobPhone } = devicesOf(scenario);
    const [alice, bob] = await Promise.all([connect(aliceLaptop.token), connect(bobPhone.token)]);
    await bob.emitWithAck('subscribe', { stream: scenario.stream });
    const send = { conversationId: scenario.conversation.id, clientId: 'same', body: 'once' };
    const first = await alice.emitWithAck('message:send', send);
    const retry = await alice.emitWithAck('message:send', send);
    expect(retry).toEqual(first);
    await alice.emitWithAck('message:send', { ...send, clientId: 'next' });
    await bob.waitForCount('change', 2);
    expect(
      bob.received('change').map(([c]) => isChangeOf(c, 'message') && c.data.clientId),
    ).toEqual(['same', 'next']);
  });

  test('replays changes after since, then goes live, with no gap and no duplicate', async ({
    scenario,
    connect,
    database,
  }) => {
    const { aliceLaptop, bobPhone } = devicesOf(scenario);
    for (let i = 0; i < 5; i++)
      await createMessage(database.db, aliceLaptop, scenario.conversation.id);
    const bob = await connect(bobPhone.token);
    // Seqs 1–3 are the conversation and its members, 4–8 the five messages.
    const subscribed = bob.emitWithAck('subscribe', { stream: scenario.stream, since: 5 });
    // Writes racing the subscribe must be delivered too, exactly once.
    const racing = Array.from({ length: 5 }, () =>
      createMessage(database.db, aliceLaptop, scenario.conversation.id),
    );
    const ack = await subscribed;
    await Promise.all(racing);
    expect(ack.ok).toBe(true);
    await bob.waitForCount('change', 8);
    const seqs = bob.received('change').map(([c]: [ChangeEvent]) => c.seq);
    expect(seqs).toEqual([6, 7, 8, 9, 10, 11, 12, 13]);
  });

  test('asks for a resync when since is ahead of the stream', async ({ scenario, connect }) => {
    const bob = await connect(devicesOf(scenario).bobPhone.token);
    const ack = await bob.emitWithAck('subscribe', { stream: scenario.stream, since: 50 });
    expect(ack).toMatchObject({ ok: false, error: { code: 'conflict' } });
    const [resync] = await bob.waitFor('resync_required');
    expect(resync).toEqual({ stream: scenario.stream, reason: 'since_ahead_of_head', head: 3 });
  });

  test('resumes from a seq its relay has not read yet instead of asking for a resync', async ({
    scenario,
    database,
  }) => {
    // A relay that reads only when woken: it has not read a write made with plain SQL.
    const harness = await startGatewayHarness(database, { relay: { idleTickMs: 600_000 } });
    const { aliceLaptop, bobPhone } = devicesOf(scenario);
    const [alice, bob] = [aliceLaptop, bobPhone].map(
      (device) => new TestClient({ url: harness.url, token: device.token }),
    );
    try {
      await Promise.all([alice!.open(), bob!.open()]);
      await alice!.emitWithAck('subscribe', { stream: scenario.stream });
      const { seq } = await createMessage(database.db, aliceLaptop, scenario.conversation.id);
      // As a device does that got the change (or sent it) through another node.
      const ack = await bob!.emitWithAck('subscribe', { stream: scenario.stream, since: seq });
      expect(ack).toEqual({ ok: true, head: seq, receivedReportMs: DEFAULT_RECEIVED_REPORT_MS });
      const sent = await alice!.emitWithAck('message:send', {
        conversationId: scenario.conversation.id,
        clientId: 'after-resume',
        body: 'after',
      });
      expect(sent).toMatchObject({ ok: true, seq: seq + 1 });
      await bob!.waitFor('change', { predicate: (change) => change.seq === seq + 1 });
      expect(bob!.received('change').map(([change]) => change.seq)).toEqual([seq + 1]);
      expect(bob!.received('resync_required')).toEqual([]);
    } finally {
      alice!.close();
      bob!.close();
      await harness.close();
    }
  });
});

describe('gateway device reports', () => {
  test('every subscribe answer asks for changes:received at most every receivedReportMs', async ({
    database,
    scenario,
  }) => {
    for (const receivedReportMs of [250, 0]) {
      const harness = await startGatewayHarness(database, { receivedReportMs });
      const client = new TestClient({
        url: harness.url,
        token: devicesOf(scenario).aliceLaptop.token,
      });
      try {
        await client.open();
        expect(await client.subscribe(scenario.stream)).toEqual({
          head: expect.any(Number),
          receivedReportMs,
        });
      } finally {
        await client.close();
        await harness.close();
      }
    }
    await expect(startGatewayHarness(database, { receivedReportMs: -1 })).rejects.toThrow(
      /receivedReportMs must be a whole number of ms, 0 or more, got -1/,
    );
  });
});

describe('gateway ids', () => {
  test('serves a stream and a send named with an uppercase id', async ({ scenario, connect }) => {
    const { aliceLaptop, bobPhone } = devicesOf(scenario);
    const [alice, bob] = await Promise.all([connect(aliceLaptop.token), connect(bobPhone.token)]);
    const upper = scenario.conversation.id.toUpperCase();
    expect(await bob.emitWithAck('subscribe', { stream: `conversation:${upper}` })).toEqual({
      ok: true,
      head: 3,
      receivedReportMs: expect.any(Number),
    });
    const ack = await alice.emitWithAck('message:send', {
      conversationId: upper,
      clientId: 'upper',
      body: 'hi',
    });
    expect(ack).toMatchObject({ ok: true, stream: scenario.stream, seq: 4 });
    const [change] = await bob.waitFor('change');
    expect(change).toMatchObject({ stream: scenario.stream, seq: 4 });
  });
});

describe('gateway refusals', () => {
  test('refuses a stream the user is not a member of, and writes nothing', async ({
    scenario,
    connect,
    database,
  }) => {
    const other = await seedConversationScenario(database.db, { jwtSecret, devicesPerUser: [1] });
    const bob = await connect(devicesOf(scenario).bobPhone.token);
    expect(await bob.emitWithAck('subscribe', { stream: other.stream })).toMatchObject({
      ok: false,
      error: { code: 'forbidden' },
    });
    expect(
      await bob.emitWithAck('message:send', {
        conversationId: other.conversation.id,
        clientId: 'x',
        body: 'y',
      }),
    ).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect(await messageChanges(database, other.stream)).toEqual([]);
  });

  test('answers bad input with invalid_payload and keeps the connection up', async ({
    scenario,
    connect,
    database,
  }) => {
    const alice = await connect(devicesOf(scenario).aliceLaptop.token);
    const bad = await alice.emitWithAck('message:send', {
      conversationId: 'not-a-uuid',
      clientId: 'c',
      body: 'x',
    });
    expect(bad).toMatchObject({
      ok: false,
      error: { code: 'invalid_payload', message: expect.stringContaining('conversationId') },
    });
    const empty = await alice.emitWithAck('message:send', {
      conversationId: scenario.conversation.id,
      clientId: 'c',
      body: '',
    });
    expect(empty).toMatchObject({ ok: false, error: { code: 'invalid_payload' } });
    expect(alice.socket.connected).toBe(true);
    expect(await messageChanges(database, scenario.stream)).toEqual([]);
    const good = await alice.emitWithAck('message:send', {
      conversationId: scenario.conversation.id,
      clientId: 'c',
      body: 'fine',
    });
    expect(good).toMatchObject({ ok: true, seq: 4 });
  });
});
