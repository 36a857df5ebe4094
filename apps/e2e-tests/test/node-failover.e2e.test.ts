import { seedConversationScenario } from '@ccs/fixtures';
import { isChangeOf, type ChangeEvent } from '@ccs/protocol';
import { TestClient } from '@ccs/test-clients';
import { createTestDatabase, reserveRedisPrefix, type ServerProcess } from '@ccs/test-env';
import { startSyncServerProcess } from '@ccs/test-server';
import { describe, expect, inject, it } from 'vitest';

const jwtSecret = 'failover-secret-0123456789abcdef';

function messageSeqs(clients: readonly TestClient[]): number[] {
  return clients
    .flatMap((client) => client.received('change').map(([change]) => change))
    .filter((change: ChangeEvent) => isChangeOf(change, 'message'))
    .map((change) => change.seq);
}

describe('gateway crash (guarantee 7)', () => {
  it('moves the devices of a node killed with SIGKILL to the other node, losing nothing', async () => {
    const env = inject('ccsTestEnv');
    const database = await createTestDatabase(env, { label: 'failover' });
    const node = {
      databaseUrl: database.url,
      redisUrl: env.redisUrl,
      redisPrefix: await reserveRedisPrefix(env.redisUrl, 'e2e-failover'),
      jwtSecret,
    };
    const nodes: ServerProcess[] = [];
    const clients: TestClient[] = [];
    try {
      nodes.push(await startSyncServerProcess(node));
      nodes.push(await startSyncServerProcess(node));
      const [nodeA, nodeB] = nodes as [ServerProcess, ServerProcess];
      const scenario = await seedConversationScenario(database.db, { jwtSecret });
      const [alice, bob] = scenario.users;
      const aliceTokens = alice!.devices.map((device) => device.token);

      // Alice's two devices on node A; Bob writes through node B.
      const onA = await Promise.all(
        aliceTokens.map((token) => TestClient.connect({ url: nodeA.url, token })),
      );
      clients.push(...onA);
      const writer = await TestClient.connect({ url: nodeB.url, token: bob!.devices[0]!.token });
      clients.push(writer);
      const heads = await Promise.all(
        onA.map(async (client) => {
          const ack = await client.emitWithAck('subscribe', { stream: scenario.stream });
          if (!ack.ok) throw new Error(ack.error.message);
          return ack.head;
        }),
      );

      const total = 120;
      const sent: number[] = [];
      const sending = (async () => {
        for (let i = 0; i < total; i++) {
          const payload = {
            conversationId: scenario.conversation.id,
            clientId: `bob-${i}`,
            body: `message ${i}`,
          };
          let ack = await writer.emitWithAck('message:send', payload);
          // As a device does: over the server's send rate, wait as told and send again.
          while (!ack.ok && ack.error.code === 'rate_limited') {
            await new Promise((done) => setTimeout(done, ack.ok ? 0 : ack.error.retryAfterMs));
            ack = await writer.emitWithAck('message:send', payload);
          }
          if (!ack.ok) throw new Error(ack.error.message);
          sent.push(ack.seq);
          await new Promise((done) => setTimeout(done, 5));
        }
      })();

      await onA[0]!.waitForCount('change', 30, { timeout: 10_000 });
      await nodeA.kill('SIGKILL');

      // Each device notices, moves to node B and resumes from the last seq it has.
      for (const [i, client] of onA.entries()) {
        await client.waitForState('disconnected');
        const since = Math.max(heads[i]!, client.lastSeq(scenario.stream));
        await client.reconnect({ url: nodeB.url });
        expect(
          await client.emitWithAck('subscribe', { stream: scenario.stream, since }),
        ).toMatchObject({ ok: true });
      }
      await sending;
      for (const client of onA) {
        // Old socket then new one: every message once, in order, none missing.
        await client.expectReceivedOnce(scenario.stream, sent, { timeout: 10_000 });
        expect(messageSeqs([client])).toEqual(sent);
      }
      expect(sent).toHaveLength(total);
    } finally {
      for (const client of clients) client.close();
      await Promise.all(nodes.map((node) => node.stop()));
      await database.drop();
    }
  });
});
