import { createMessage, seedConversationScenario } from '@ccs/fixtures';
import { TestClient } from '@ccs/test-clients';
import { describe, expect } from 'vitest';
import { test } from '../src/vitest.js';

describe('@ccs/test-server', () => {
  test('syncServer is the real service on the test database: a device gets a committed change', async ({
    database,
    syncServer,
  }) => {
    const scenario = await seedConversationScenario(database.db, {
      jwtSecret: syncServer.jwtSecret,
      devicesPerUser: [1, 1],
    });
    const [alice, bob] = scenario.users;
    const phone = await TestClient.connect({ url: syncServer.url, token: bob!.devices[0]!.token });
    try {
      const ack = await phone.emitWithAck('subscribe', { stream: scenario.stream });
      expect(ack.ok).toBe(true);
      const sent = await createMessage(database.db, alice!.devices[0]!, scenario.conversation.id);
      const [change] = await phone.waitFor('change', {
        predicate: (received) => received.seq === sent.seq,
      });
      expect(change).toMatchObject({ kind: 'message.created', stream: scenario.stream });
    } finally {
      phone.close();
    }
  });

  test('startSyncServer starts nodes of one cluster, by role', async ({
    database,
    startSyncServer,
  }) => {
    const [gateway, worker] = await Promise.all([
      startSyncServer({ role: 'gateway' }),
      startSyncServer({ role: 'worker' }),
    ]);
    expect(gateway.url).not.toBe(worker.url);
    const metrics = async (url: string) => (await fetch(`${url}/metrics`)).text();
    expect(await metrics(worker.url)).toContain('ccs_jobs_completed_total');
    expect(await metrics(gateway.url)).not.toContain('ccs_jobs_completed_total');
    expect(await metrics(gateway.url)).toContain('ccs_connected_sockets');
    const { rows } = await database.pool.query<{ n: number }>('SELECT 1 AS n');
    expect(rows[0]!.n).toBe(1);
  });
});
