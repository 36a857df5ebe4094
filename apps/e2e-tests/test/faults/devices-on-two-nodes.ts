import type { ConversationScenario } from '@ccs/fixtures';
import { TestClient } from '@ccs/test-clients';

/** The devices of a fault test, each subscribed to the conversation's stream. */
export interface DevicesOnTwoNodes {
  /** Alice's first device, on node A. */
  readonly laptop: TestClient;
  /** Alice's second device, on node B. */
  readonly phone: TestClient;
  /** Bob's device, on node B: the one that writes. */
  readonly writer: TestClient;
  readonly all: readonly TestClient[];
}

/**
 * Connects the devices of a two-member scenario (Alice with two devices, Bob with one) across
 * two nodes, so every change has to cross from the writer's node to the other as well.
 */
export async function devicesOnTwoNodes(
  scenario: ConversationScenario,
  nodeA: { readonly url: string },
  nodeB: { readonly url: string },
): Promise<DevicesOnTwoNodes> {
  const [alice, bob] = scenario.users;
  const all: TestClient[] = [];
  const connect = async (url: string, token: string, name: string): Promise<TestClient> => {
    const client = await TestClient.connect({ url, token, name });
    all.push(client);
    const ack = await client.emitWithAck('subscribe', { stream: scenario.stream });
    if (!ack.ok) throw new Error(`${name} could not subscribe: ${ack.error.message}`);
    return client;
  };
  try {
    const laptop = await connect(nodeA.url, alice!.devices[0]!.token, 'alice-laptop-on-a');
    const phone = await connect(nodeB.url, alice!.devices[1]!.token, 'alice-phone-on-b');
    const writer = await connect(nodeB.url, bob!.devices[0]!.token, 'bob-on-b');
    return { laptop, phone, writer, all };
  } catch (error) {
    for (const client of all) client.close();
    throw error;
  }
}
