import { fileURLToPath } from 'node:url';
import { seedConversationScenario } from '@ccs/fixtures';
import type { StreamName } from '@ccs/protocol';
import { nthPresence, presenceMembers, presenceOf, TestClient } from '@ccs/test-clients';
import { startServerProcess, type ServerProcess } from '@ccs/test-env';
import { describe, expect } from 'vitest';
import { TEST_SERVER_JWT_SECRET as jwtSecret } from '@ccs/test-server';
import { test } from './server-fixtures.js';

/** `main.ts`, run from source (tsx, the `@ccs/source` condition): no build needed. */
const ENTRY = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const FROM_SOURCE = '--import tsx --conditions=@ccs/source';

/** What the issue promises: a killed node's devices are offline for the others within this. */
const OFFLINE_AFTER_KILL_MS = 10_000;

/** Two sync-server processes of one cluster (the test's database and Redis prefix), from source. */
function startTwoNodes(context: {
  readonly database: { readonly url: string };
  readonly testEnv: { readonly redisUrl: string };
  readonly redisNamespace: { readonly prefix: string };
}): Promise<ServerProcess[]> {
  const env = {
    DATABASE_URL: context.database.url,
    REDIS_URL: context.testEnv.redisUrl,
    CCS_REDIS_PREFIX: context.redisNamespace.prefix,
    CCS_JWT_SECRET: jwtSecret,
    CCS_RETENTION_HOURS: '0',
    NODE_OPTIONS: FROM_SOURCE,
  };
  return Promise.all(
    [0, 1].map(() => startServerProcess({ entry: ENTRY, env, startTimeoutMs: 60_000 })),
  );
}

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `condition` every 150 ms (within the default ephemeral budget); rejects after 5 s. */
async function until(condition: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await pause(150);
  }
}

async function listed(client: TestClient, stream: StreamName): Promise<string[]> {
  return (await presenceMembers(client, stream)).map((member) => member.deviceId).sort();
}

describe('presence across sync-server processes', () => {
  test(
    'presence and typing cross nodes; a device with sockets on both nodes is online once, until its last; a node stopped gracefully takes its devices offline at once',
    { timeout: 90_000 },
    async ({ database, testEnv, redisNamespace }) => {
      const scenario = await seedConversationScenario(database.db, { jwtSecret });
      const aliceLaptop = scenario.users[0]!.devices[0]!;
      const alicePhone = scenario.users[0]!.devices[1]!;
      const bobPhone = scenario.users[1]!.devices[0]!;
      const nodes: ServerProcess[] = [];
      const clients: TestClient[] = [];
      const connect = async (node: ServerProcess, token: string, name: string) => {
        const client = new TestClient({ url: node.url, token, name, reconnection: false });
        clients.push(client);
        await client.open();
        return client;
      };
      try {
        nodes.push(...(await startTwoNodes({ database, testEnv, redisNamespace })));
        const [nodeA, nodeB] = nodes as [ServerProcess, ServerProcess];
        const bob = await connect(nodeA, bobPhone.token, 'bob@A');
        const phone = await connect(nodeA, alicePhone.token, 'phone@A');
        for (const client of [bob, phone]) await client.subscribe(scenario.stream);

        // Online, announced by B, heard on A.
        const laptopB = await connect(nodeB, aliceLaptop.token, 'laptop@B');
        await laptopB.subscribe(scenario.stream);
        expect(await nthPresence(bob, aliceLaptop.id, 0)).toEqual({
          stream: scenario.stream,
          userId: aliceLaptop.userId,
          deviceId: aliceLaptop.id,
          state: 'online',
        });
        expect(await listed(bob, scenario.stream)).toEqual(
          [aliceLaptop.id, alicePhone.id, bobPhone.id].sort(),
        );

        // Typing from B reaches both devices on A (the user's other device too), not the sender.
        expect(
          await laptopB.emitWithAck('typing:update', {
            conversationId: scenario.conversation.id,
            typing: true,
          }),
        ).toEqual({ ok: true, forwarded: true });
        for (const other of [bob, phone]) {
          const [typing] = await other.waitFor('typing');
          expect(typing).toMatchObject({ deviceId: aliceLaptop.id, typing: true });
        }

        // A second socket of the laptop, on A: no second online; the first leaving is no offline
        // (the device stays online, since the socket it keeps subscribed).
        const sinceOfLaptop = async () =>
          (await presenceMembers(bob, scenario.stream)).find((m) => m.deviceId === aliceLaptop.id)
            ?.since;
        const sinceOnB = await sinceOfLaptop();
        const laptopA = await connect(nodeA, aliceLaptop.token, 'laptop@A');
        await laptopA.subscribe(scenario.stream);
        await laptopB.emitWithAck('unsubscribe', { stream: scenario.stream });
        await until(async () => {
          const since = await sinceOfLaptop();
          return since !== undefined && since !== sinceOnB;
        }, 'the laptop online since its socket on A');
        await bob.expectNoEvent('presence', { within: 500 });
        expect(presenceOf(bob, aliceLaptop.id).map((event) => event.state)).toEqual(['online']);
        laptopA.disconnect();
        expect(await nthPresence(bob, aliceLaptop.id, 1)).toMatchObject({ state: 'offline' });

        // B stops (SIGTERM): the laptop, back on B, goes offline with it, long before any TTL.
        await laptopB.subscribe(scenario.stream);
        await nthPresence(bob, aliceLaptop.id, 2);
        const stopping = Date.now();
        await nodeB.stop();
        expect(await nthPresence(bob, aliceLaptop.id, 3)).toMatchObject({ state: 'offline' });
        expect(Date.now() - stopping).toBeLessThan(3000);
        expect(presenceOf(bob, aliceLaptop.id)).toHaveLength(4);
      } finally {
        for (const client of clients) client.close();
        await Promise.all(nodes.map((node) => node.stop()));
      }
    },
  );

  test(
    'a device on a node that is SIGKILLed goes offline for a watcher on another node within 10 s',
    { timeout: 90_000 },
    async ({ database, testEnv, redisNamespace }) => {
      const scenario = await seedConversationScenario(database.db, { jwtSecret });
      const alicePhone = scenario.users[0]!.devices[1]!;
      const bobPhone = scenario.users[1]!.devices[0]!;
      const nodes: ServerProcess[] = [];
      const clients: TestClient[] = [];
      try {
        nodes.push(...(await startTwoNodes({ database, testEnv, redisNamespace })));
        const [nodeA, nodeB] = nodes as [ServerProcess, ServerProcess];
        const bob = new TestClient({ url: nodeA.url, token: bobPhone.token, name: 'bob@A' });
        const phone = new TestClient({
          url: nodeB.url,
          token: alicePhone.token,
          name: 'phone@B',
          reconnection: false,
        });
        clients.push(bob, phone);
        await Promise.all(clients.map((client) => client.open()));
        await bob.subscribe(scenario.stream);
        await phone.subscribe(scenario.stream);
        expect(await nthPresence(bob, alicePhone.id, 0)).toMatchObject({ state: 'online' });

        const killed = Date.now();
        await nodeB.kill('SIGKILL');
        const offline = await nthPresence(bob, alicePhone.id, 1, 2 * OFFLINE_AFTER_KILL_MS);
        const tookMs = Date.now() - killed;
        expect(offline).toEqual({
          stream: scenario.stream,
          userId: alicePhone.userId,
          deviceId: alicePhone.id,
          state: 'offline',
        });
        expect(tookMs).toBeLessThan(OFFLINE_AFTER_KILL_MS);
        expect(await listed(bob, scenario.stream)).toEqual([bobPhone.id]);
        expect(presenceOf(bob, alicePhone.id)).toHaveLength(2);
        console.info(`[presence] offline ${tookMs} ms after SIGKILL`);
      } finally {
        for (const client of clients) client.close();
        await Promise.all(nodes.map((node) => node.stop()));
      }
    },
  );
});
