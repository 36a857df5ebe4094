import { seedConversationScenario } from '@ccs/fixtures';
import { TestClient } from '@ccs/test-clients';
import { describe, expect } from 'vitest';
import { TEST_SERVER_JWT_SECRET as jwtSecret } from '@ccs/test-server';
import { test } from './server-fixtures.js';

describe('access ends on every node', () => {
  test('a device revoked in SQL loses its sockets on both nodes; a removed member is unsubscribed on the node that serves it', async ({
    startServer,
    database,
  }) => {
    const [nodeA, nodeB] = [await startServer(), await startServer()];
    const scenario = await seedConversationScenario(database.db, {
      jwtSecret,
      devicesPerUser: [2, 1],
    });
    const [aliceLaptop, alicePhone] = scenario.users[0]!.devices;
    const bobPhone = scenario.users[1]!.devices[0]!;
    const clients = [
      new TestClient({ url: nodeA.url, token: aliceLaptop!.token, name: 'laptop@A' }),
      new TestClient({ url: nodeB.url, token: aliceLaptop!.token, name: 'laptop@B' }),
      new TestClient({ url: nodeA.url, token: alicePhone!.token, name: 'phone@A' }),
      new TestClient({ url: nodeB.url, token: bobPhone.token, name: 'bob@B' }),
    ];
    const [laptopA, laptopB, phoneA, bobB] = clients as [
      TestClient,
      TestClient,
      TestClient,
      TestClient,
    ];
    try {
      await Promise.all(clients.map((client) => client.open()));
      for (const client of clients) {
        expect(await client.emitWithAck('subscribe', { stream: scenario.stream })).toMatchObject({
          ok: true,
        });
      }

      await database.pool.query('UPDATE devices SET revoked_at = now() WHERE id = $1', [
        aliceLaptop!.id,
      ]);
      for (const laptop of [laptopA, laptopB]) {
        const [ended] = await laptop.waitFor('session_ended', { timeout: 1000 });
        expect(ended.reason).toBe('device_revoked');
        await laptop.waitForState('disconnected', { timeout: 1000 });
      }

      // Bob is removed by a write that no gateway made; node B serves him.
      await database.pool.query(
        'DELETE FROM conversation_members WHERE conversation_id = $1 AND user_id = $2',
        [scenario.conversation.id, scenario.users[1]!.user.id],
      );
      const [unsubscribed] = await bobB.waitFor('unsubscribed', { timeout: 1000 });
      expect(unsubscribed).toEqual({ stream: scenario.stream, reason: 'access_revoked' });
      const ack = await phoneA.emitWithAck('message:send', {
        conversationId: scenario.conversation.id,
        clientId: 'after-removal',
        body: 'bob must not see this',
      });
      expect(ack.ok).toBe(true);
      await phoneA.waitFor('change', { predicate: (c) => c.kind === 'message.created' });
      const removal = bobB
        .received('change')
        .map(([change]) => change)
        .find((change) => change.kind === 'conversation_member.deleted')!;
      expect(
        bobB.received(
          'change',
          (change) => change.seq > removal.seq && change.stream === scenario.stream,
        ),
      ).toEqual([]);
    } finally {
      for (const client of clients) client.close();
    }
  });
});

describe('a flood on one device', () => {
  test('is answered with rate_limited, then dropped, while /readyz stays 200 and another user connects and subscribes', async ({
    startServer,
    database,
  }) => {
    const server = await startServer();
    const scenario = await seedConversationScenario(database.db, {
      jwtSecret,
      devicesPerUser: [1, 1],
    });
    const [alice, bob] = scenario.users.map(({ devices }) => devices[0]!);
    const flooder = await TestClient.connect({ url: server.url, token: alice!.token });
    const readiness: number[] = [];
    let flooding = true;
    // A load balancer's probe, every 50 ms.
    const probing = (async () => {
      while (flooding) {
        readiness.push((await fetch(`${server.url}/readyz`)).status);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    const codes: string[] = [];
    try {
      // Never waiting for an ack, never honouring retryAfterMs.
      for (let i = 0; i < 2000; i++) {
        flooder.socket.emit(
          'message:send',
          {
            conversationId: scenario.conversation.id,
            clientId: `flood-${i}`,
            body: 'x'.repeat(1000),
          },
          (ack) => codes.push(ack.ok ? 'ok' : ack.error.code),
        );
      }
      const other = await TestClient.connect({ url: server.url, token: bob!.token });
      try {
        expect(await other.emitWithAck('subscribe', { stream: scenario.stream })).toMatchObject({
          ok: true,
        });
      } finally {
        other.close();
      }
      const [ended] = await flooder.waitFor('session_ended');
      expect(ended.reason).toBe('flooding');
      await flooder.waitForState('disconnected');
    } finally {
      flooding = false;
      await probing;
      flooder.close();
    }
    expect(codes).toContain('rate_limited');
    expect(codes.filter((code) => code !== 'ok' && code !== 'rate_limited')).toEqual([]);
    // Written: the acked ones, and at most the 8 in flight when the socket was dropped (their
    // acks were lost with it; a retry with the same client id writes nothing more).
    const { rows } = await database.pool.query<{ count: string }>(
      'SELECT count(*) FROM messages WHERE device_id = $1',
      [alice!.id],
    );
    const ok = codes.filter((code) => code === 'ok').length;
    expect(Number(rows[0]!.count)).toBeGreaterThanOrEqual(ok);
    expect(Number(rows[0]!.count)).toBeLessThanOrEqual(ok + 8);
    expect(readiness.length).toBeGreaterThan(0);
    expect(readiness.filter((status) => status !== 200)).toEqual([]);
  });
});
