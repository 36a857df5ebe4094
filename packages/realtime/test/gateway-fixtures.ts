import { seedConversationScenario, type ConversationScenario } from '@ccs/fixtures';
import { TestClient } from '@ccs/test-clients';
import { test as base } from '@ccs/test-env/vitest';
import { jwtSecret, startGatewayHarness } from './gateway-harness.js';

/** `test` with a running gateway, the default scenario, and a `connect(token)` that cleans up. */
export const test = base
  .extend('harness', async ({ database }, { onCleanup }) => {
    const harness = await startGatewayHarness(database);
    onCleanup(() => harness.close());
    return harness;
  })
  .extend('scenario', async ({ database }): Promise<ConversationScenario> =>
    seedConversationScenario(database.db, { jwtSecret }),
  )
  .extend('connect', async ({ harness }, { onCleanup }) => {
    const clients: TestClient[] = [];
    onCleanup(() => {
      for (const client of clients) client.close();
    });
    return async (token: string): Promise<TestClient> => {
      const client = new TestClient({ url: harness.url, token });
      clients.push(client);
      await client.open();
      return client;
    };
  });

/** Alice's two devices and Bob's one, from the default scenario. */
export function devicesOf(scenario: ConversationScenario) {
  const [alice, bob] = scenario.users;
  return {
    aliceLaptop: alice!.devices[0]!,
    alicePhone: alice!.devices[1]!,
    bobPhone: bob!.devices[0]!,
  };
}
