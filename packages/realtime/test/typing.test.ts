import { readStreamPosition } from '@ccs/db';
import { seedConversationScenario } from '@ccs/fixtures';
import { TestClient } from '@ccs/test-clients';
import { describe, expect } from 'vitest';
import { devicesOf, test } from './gateway-fixtures.js';
import { jwtSecret, startGatewayHarness } from './gateway-harness.js';

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('typing indicators', () => {
  test('go to the conversation’s other sockets, not the sender’s; a repeat within the throttle is held back, a stop passes at once; nothing is stored', async ({
    scenario,
    connect,
    database,
  }) => {
    const { aliceLaptop, alicePhone, bobPhone } = devicesOf(scenario);
    const [laptop, phone, bob] = (await Promise.all(
      [aliceLaptop, alicePhone, bobPhone].map((device) => connect(device.token)),
    )) as [TestClient, TestClient, TestClient];
    for (const client of [laptop, phone, bob]) {
      await client.emitWithAck('subscribe', { stream: scenario.stream });
    }
    const head = (await readStreamPosition(database.db, scenario.stream)).head;
    const update = (typing: boolean) =>
      laptop.emitWithAck('typing:update', { conversationId: scenario.conversation.id, typing });

    expect(await update(true)).toEqual({ ok: true, forwarded: true });
    const expected = {
      stream: scenario.stream,
      userId: aliceLaptop.userId,
      deviceId: aliceLaptop.id,
      typing: true,
      expiresInMs: 6000,
    };
    // The user's other device hears it too.
    for (const other of [phone, bob]) {
      expect(await other.waitFor('typing')).toEqual([expected]);
    }
    expect(await update(true)).toEqual({ ok: true, forwarded: false });
    expect(await update(false)).toEqual({ ok: true, forwarded: true });
    for (const other of [phone, bob]) {
      await other.waitForCount('typing', 2);
      expect(other.received('typing').map(([event]) => event.typing)).toEqual([true, false]);
    }
    expect(await update(false)).toEqual({ ok: true, forwarded: false });
    await bob.expectNoEvent('typing', { within: 200 });
    expect(laptop.received('typing')).toEqual([]);
    // Ephemeral: no change was written, no seq taken.
    expect((await readStreamPosition(database.db, scenario.stream)).head).toBe(head);
  });

  test('typing: true is passed on again once the throttle window (2 s) has passed', async ({
    scenario,
    connect,
  }) => {
    const { aliceLaptop, bobPhone } = devicesOf(scenario);
    const [laptop, bob] = [await connect(aliceLaptop.token), await connect(bobPhone.token)];
    for (const client of [laptop, bob]) {
      await client.emitWithAck('subscribe', { stream: scenario.stream });
    }
    const typing = () =>
      laptop.emitWithAck('typing:update', {
        conversationId: scenario.conversation.id,
        typing: true,
      });
    expect(await typing()).toMatchObject({ forwarded: true });
    const first = Date.now();
    // A client that keeps typing sends a renewal now and then; the server passes one per window.
    let forwardedAgainAt: number | undefined;
    while (forwardedAgainAt === undefined && Date.now() - first < 5000) {
      await pause(250);
      const ack = await typing();
      expect(ack.ok).toBe(true);
      if (ack.ok && ack.forwarded) forwardedAgainAt = Date.now();
    }
    expect(forwardedAgainAt! - first).toBeGreaterThanOrEqual(2000);
    expect(forwardedAgainAt! - first).toBeLessThan(2000 + 1000);
    await bob.waitForCount('typing', 2);
  });

  test('is forbidden in a conversation the socket is not subscribed to', async ({
    scenario,
    connect,
    database,
  }) => {
    const { aliceLaptop } = devicesOf(scenario);
    const laptop = await connect(aliceLaptop.token);
    const update = { conversationId: scenario.conversation.id, typing: true };
    expect(await laptop.emitWithAck('typing:update', update)).toEqual({
      ok: false,
      error: { code: 'forbidden', message: expect.stringContaining('subscribe to') },
    });
    // A conversation of others, even subscribed to another one.
    const others = await seedConversationScenario(database.db, { jwtSecret });
    await laptop.emitWithAck('subscribe', { stream: scenario.stream });
    expect(
      await laptop.emitWithAck('typing:update', {
        conversationId: others.conversation.id,
        typing: true,
      }),
    ).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect(
      await laptop.emitWithAck('typing:update', { ...update, typing: 'yes' as unknown as boolean }),
    ).toMatchObject({ ok: false, error: { code: 'invalid_payload' } });
  });
});

describe('ephemeral limits', () => {
  test('typing:update and presence:list over the device’s budget are refused with rate_limited and retryAfterMs, across its sockets', async ({
    database,
    scenario,
  }) => {
    const harness = await startGatewayHarness(database, {
      limits: { ephemeralPerSecond: 4, ephemeralBurst: 3 },
    });
    const { aliceLaptop } = devicesOf(scenario);
    const clients = [0, 1].map(
      () => new TestClient({ url: harness.url, token: aliceLaptop.token }),
    );
    const [first, second] = clients as [TestClient, TestClient];
    try {
      await Promise.all(clients.map((client) => client.open()));
      for (const client of clients) {
        await client.emitWithAck('subscribe', { stream: scenario.stream });
      }
      const typing = { conversationId: scenario.conversation.id, typing: true };
      expect(await first.emitWithAck('typing:update', typing)).toMatchObject({ ok: true });
      expect(await first.emitWithAck('typing:update', typing)).toMatchObject({ ok: true });
      expect(await second.emitWithAck('presence:list', { stream: scenario.stream })).toMatchObject({
        ok: true,
      });
      const refused = await second.emitWithAck('typing:update', typing);
      expect(refused).toEqual({
        ok: false,
        error: {
          code: 'rate_limited',
          message: expect.stringContaining('per second'),
          retryAfterMs: expect.any(Number),
        },
      });
      expect(await first.emitWithAck('presence:list', { stream: scenario.stream })).toMatchObject({
        ok: false,
        error: { code: 'rate_limited' },
      });
      if (refused.ok || refused.error.retryAfterMs === undefined) throw new Error('unreachable');
      expect(refused.error.retryAfterMs).toBeGreaterThan(0);
      expect(refused.error.retryAfterMs).toBeLessThanOrEqual(250);
      // Told how long to wait, and served once it did.
      await pause(refused.error.retryAfterMs);
      expect(await first.emitWithAck('presence:list', { stream: scenario.stream })).toMatchObject({
        ok: true,
      });
    } finally {
      for (const client of clients) client.close();
      await harness.close();
    }
  });
});
