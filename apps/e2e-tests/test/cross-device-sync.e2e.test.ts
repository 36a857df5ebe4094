import { createDatabase, type DatabaseHandle } from '@ccs/db';
import { seedConversationScenario, type ConversationScenario } from '@ccs/fixtures';
import { TestClient } from '@ccs/test-clients';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

const server = inject('ccsE2eServer');
let database: DatabaseHandle;
let scenario: ConversationScenario;
const clients: TestClient[] = [];

beforeAll(async () => {
  database = createDatabase({ url: server.databaseUrl, maxConnections: 2 });
  scenario = await seedConversationScenario(database.db, {
    jwtSecret: server.jwtSecret,
    userNames: ['alice', 'bob'],
  });
});

afterAll(async () => {
  for (const client of clients) client.close();
  await database.close();
});

async function connectAll(): Promise<{
  aliceLaptop: TestClient;
  alicePhone: TestClient;
  bobPhone: TestClient;
}> {
  const [alice, bob] = scenario.users;
  const tokens = [alice!.devices[0]!.token, alice!.devices[1]!.token, bob!.devices[0]!.token];
  const connected = await Promise.all(
    tokens.map((token) => TestClient.connect({ url: server.url, token })),
  );
  clients.push(...connected);
  // The stream starts with the conversation and its two memberships (seqs 1–3).
  for (const client of connected) {
    expect(await client.emitWithAck('subscribe', { stream: scenario.stream })).toEqual({
      ok: true,
      head: 3,
      receivedReportMs: expect.any(Number),
    });
  }
  const [aliceLaptop, alicePhone, bobPhone] = connected;
  return { aliceLaptop: aliceLaptop!, alicePhone: alicePhone!, bobPhone: bobPhone! };
}

describe('sync-server process, end to end', () => {
  it('reports ready with PostgreSQL and Redis reachable', async () => {
    const response = await fetch(`${server.url}/readyz`);
    expect(response.status).toBe(200);
  });

  it('syncs two devices of one user and one device of another, both ways', async () => {
    const { aliceLaptop, alicePhone, bobPhone } = await connectAll();

    const fromLaptop = await aliceLaptop.emitWithAck('message:send', {
      conversationId: scenario.conversation.id,
      clientId: 'laptop-1',
      body: 'hi bob, from my laptop',
    });
    expect(fromLaptop).toMatchObject({ ok: true, stream: scenario.stream, seq: 4 });
    for (const device of [alicePhone, bobPhone]) {
      const [change] = await device.waitFor('change', { predicate: (c) => c.seq === 4 });
      expect(change).toMatchObject({ data: { body: 'hi bob, from my laptop' } });
    }

    const fromBob = await bobPhone.emitWithAck('message:send', {
      conversationId: scenario.conversation.id,
      clientId: 'bob-1',
      body: 'hi alice',
    });
    expect(fromBob).toMatchObject({ ok: true, seq: 5 });
    for (const device of [aliceLaptop, alicePhone]) {
      const [change] = await device.waitFor('change', { predicate: (c) => c.seq === 5 });
      expect(change).toMatchObject({ data: { body: 'hi alice' } });
    }

    // A write that bypasses the gateway (another service, psql) reaches every device too.
    await database.pool.query(
      `INSERT INTO messages (conversation_id, author_id, device_id, client_id, body) VALUES ($1, $2, $3, 'sql-1', 'from SQL')`,
      [scenario.conversation.id, scenario.users[1]!.user.id, scenario.users[1]!.devices[0]!.id],
    );
    for (const device of [aliceLaptop, alicePhone, bobPhone]) {
      const [change] = await device.waitFor('change', { predicate: (c) => c.seq === 6 });
      expect(change).toMatchObject({ data: { body: 'from SQL' } });
      expect(device.received('change').map(([c]) => c.seq)).toEqual([4, 5, 6]);
    }

    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/^ccs_changes_delivered_total 9$/m);
  });
});
