import { seedConversationScenario } from '@ccs/fixtures';
import { signDeviceToken, type ChangeEvent, type StreamName } from '@ccs/protocol';
import { TestClient } from '@ccs/test-clients';
import { describe, expect } from 'vitest';
import { devicesOf, test } from './gateway-fixtures.js';
import { jwtSecret } from './gateway-harness.js';

/** The changes of `stream` a client received, in arrival order. */
function changesOf(client: TestClient, stream: StreamName): ChangeEvent[] {
  return client
    .received('change')
    .map(([change]) => change)
    .filter((change) => change.stream === stream);
}

describe('access ends when it is taken away', () => {
  test('a device revoked in SQL is told why and disconnected within 1 s; the user keeps the other', async ({
    scenario,
    connect,
    database,
  }) => {
    const { aliceLaptop, alicePhone } = devicesOf(scenario);
    const [laptop, phone] = [await connect(aliceLaptop.token), await connect(alicePhone.token)];
    await laptop.emitWithAck('subscribe', { stream: scenario.stream });

    await database.pool.query('UPDATE devices SET revoked_at = now() WHERE id = $1', [
      aliceLaptop.id,
    ]);
    const [ended] = await laptop.waitFor('session_ended', { timeout: 1000 });
    expect(ended).toEqual({ reason: 'device_revoked', message: expect.any(String) });
    await laptop.waitForState('disconnected', { timeout: 1000 });
    expect(laptop.disconnectReason).toBe('io server disconnect');

    expect(phone.state).toBe('connected');
    const ack = await phone.emitWithAck('message:send', {
      conversationId: scenario.conversation.id,
      clientId: 'after-revocation',
      body: 'the phone still sends',
    });
    expect(ack.ok).toBe(true);
    await expect(laptop.open()).rejects.toMatchObject({ data: { code: 'unauthorized' } });
  });

  test('a member removed mid-stream gets the removal, then unsubscribed, then nothing more', async ({
    scenario,
    connect,
    database,
  }) => {
    const { aliceLaptop, bobPhone } = devicesOf(scenario);
    const bobId = scenario.users[1]!.user.id;
    const [alice, bob] = [await connect(aliceLaptop.token), await connect(bobPhone.token)];
    for (const client of [alice, bob]) {
      expect(
        await client.emitWithAck('subscribe', { stream: scenario.stream, since: 0 }),
      ).toMatchObject({ ok: true });
    }
    const send = (i: number) =>
      alice.emitWithAck('message:send', {
        conversationId: scenario.conversation.id,
        clientId: `m-${i}`,
        body: `message ${i}`,
      });
    // Sends keep committing while the removal commits between them.
    const sending = (async () => {
      for (let i = 0; i < 30; i++) expect((await send(i)).ok).toBe(true);
    })();
    await alice.waitForCount('change', 5, { predicate: (c) => c.kind === 'message.created' });
    await database.pool.query(
      'DELETE FROM conversation_members WHERE conversation_id = $1 AND user_id = $2',
      [scenario.conversation.id, bobId],
    );
    await sending;

    const [unsubscribed] = await bob.waitFor('unsubscribed');
    expect(unsubscribed).toEqual({ stream: scenario.stream, reason: 'access_revoked' });
    const all = await alice.waitForCount('change', 30, {
      predicate: (c) => c.kind === 'message.created',
    });
    const removal = changesOf(alice, scenario.stream).find(
      (c) => c.kind === 'conversation_member.deleted',
    )!;
    expect(all.length).toBe(30);
    // Bob got every change up to and including his removal, in order, and none after it.
    const bobs = changesOf(bob, scenario.stream).map((c) => c.seq);
    expect(bobs).toEqual(Array.from({ length: removal.seq }, (_, i) => i + 1));
    const unsubscribedAt = bob.history.findIndex((entry) => entry.event === 'unsubscribed');
    expect(
      bob.history.slice(unsubscribedAt).filter((e) => e.direction === 'in' && e.event === 'change'),
    ).toEqual([]);

    expect(await bob.emitWithAck('subscribe', { stream: scenario.stream })).toMatchObject({
      ok: false,
      error: { code: 'forbidden' },
    });
    expect(
      await bob.emitWithAck('message:send', {
        conversationId: scenario.conversation.id,
        clientId: 'b-1',
        body: 'still here?',
      }),
    ).toMatchObject({ ok: false, error: { code: 'forbidden' } });
  });

  test('a removal racing a subscribe never lets a change after it through', async ({
    database,
    connect,
  }) => {
    for (const delayMs of [0, 1, 2, 4, 8, 0, 1, 2]) {
      const scenario = await seedConversationScenario(database.db, {
        jwtSecret,
        devicesPerUser: [1, 1],
      });
      const [aliceDevice, bobDevice] = scenario.users.map((u) => u.devices[0]!);
      const bobId = scenario.users[1]!.user.id;
      const [alice, bob] = [await connect(aliceDevice!.token), await connect(bobDevice!.token)];
      await alice.emitWithAck('subscribe', { stream: scenario.stream });
      const send = (clientId: string) =>
        alice.emitWithAck('message:send', {
          conversationId: scenario.conversation.id,
          clientId,
          body: clientId,
        });
      for (let i = 0; i < 5; i++) await send(`before-${i}`);

      const subscribing = bob.emitWithAck('subscribe', { stream: scenario.stream, since: 0 });
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      await database.pool.query(
        'DELETE FROM conversation_members WHERE conversation_id = $1 AND user_id = $2',
        [scenario.conversation.id, bobId],
      );
      for (let i = 0; i < 5; i++) await send(`after-${i}`);
      await alice.waitFor('change', {
        predicate: (c) => c.kind === 'message.created' && c.data.clientId === 'after-4',
      });

      const ack = await subscribing;
      if (ack.ok) {
        // Subscribed before the removal: it must end, with the removal as the last change.
        await bob.waitFor('unsubscribed', { predicate: (e) => e.stream === scenario.stream });
      } else {
        expect(ack.error.code).toBe('forbidden');
      }
      const { rows } = await database.pool.query<{ seq: string }>(
        `SELECT seq FROM change_log WHERE stream = $1 AND kind = 'conversation_member.deleted'`,
        [scenario.stream],
      );
      const removalSeq = Number(rows[0]!.seq);
      const seqs = changesOf(bob, scenario.stream).map((c) => c.seq);
      expect(seqs.filter((seq) => seq > removalSeq)).toEqual([]);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    }
  });

  test('a socket is disconnected when its token expires, told why', async ({
    scenario,
    connect,
  }) => {
    const { bobPhone } = devicesOf(scenario);
    const token = await signDeviceToken(
      { userId: scenario.users[1]!.user.id, deviceId: bobPhone.id },
      { secret: jwtSecret, expiresIn: '2s' },
    );
    const bob = await connect(token);
    await bob.emitWithAck('subscribe', { stream: scenario.stream });
    const [ended] = await bob.waitFor('session_ended', { timeout: 4000 });
    expect(ended).toEqual({ reason: 'token_expired', message: expect.any(String) });
    await bob.waitForState('disconnected', { timeout: 1000 });
  });

  test('a device revoked while its handshake reads the device is refused; the others read with it connect', async ({
    harness,
    scenario,
    database,
  }) => {
    const { aliceLaptop, alicePhone, bobPhone } = devicesOf(scenario);
    const clients = [aliceLaptop, alicePhone, bobPhone].map(
      (device) => new TestClient({ url: harness.url, token: device.token }),
    );
    // Hold the devices' look-up (one batch, or more) while the revocation commits.
    const holder = await database.pool.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('LOCK TABLE devices IN ACCESS EXCLUSIVE MODE');
      const outcomes = clients.map((client) =>
        client.open().then(
          () => 'connected',
          (error: { data?: { code?: string } }) => error.data?.code ?? 'failed',
        ),
      );
      await expect
        .poll(async () => {
          const { rows } = await database.pool.query<{ waiting: string }>(
            `SELECT count(*) AS waiting FROM pg_locks WHERE relation = 'devices'::regclass AND NOT granted`,
          );
          return Number(rows[0]!.waiting);
        })
        .toBeGreaterThan(0);
      await holder.query('UPDATE devices SET revoked_at = now() WHERE id = $1', [aliceLaptop.id]);
      await holder.query('COMMIT');
      expect(await Promise.all(outcomes)).toEqual(['unauthorized', 'connected', 'connected']);
    } finally {
      holder.release();
      for (const client of clients) client.close();
    }
  });
});
