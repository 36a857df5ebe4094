import type { Database } from '@ccs/db';
import { seedConversationScenario, type ConversationScenario } from '@ccs/fixtures';
import { TestClient } from '@ccs/test-clients';
import {
  startSyncServerProcess,
  type SyncServerProcess,
  type SyncServerProcessOptions,
} from '@ccs/test-server';

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

/** Two gateway processes of one cluster, a conversation, and devices chatting across them. */
export interface TwoNodeChat {
  readonly scenario: ConversationScenario;
  readonly devices: DevicesOnTwoNodes;
  /** Closes the devices and stops both gateways. */
  close(): Promise<void>;
}

/**
 * Starts two gateways with the same settings, seeds a conversation through `db` (Alice with two
 * devices, Bob with one) and connects the devices across the nodes, so every change has to cross
 * from the writer's node to the other as well. What started is stopped again if a step fails.
 */
export async function startTwoNodeChat(
  node: Omit<SyncServerProcessOptions, 'role'>,
  db: Database,
): Promise<TwoNodeChat> {
  const gateway = { ...node, role: 'gateway' as const };
  const nodes: SyncServerProcess[] = [];
  const clients: TestClient[] = [];
  const close = async (): Promise<void> => {
    for (const client of clients) client.close();
    await Promise.all(nodes.map((started) => started.stop()));
  };
  try {
    nodes.push(await startSyncServerProcess(gateway), await startSyncServerProcess(gateway));
    const [nodeA, nodeB] = nodes as [SyncServerProcess, SyncServerProcess];
    const scenario = await seedConversationScenario(db, {
      jwtSecret: nodeA.jwtSecret,
      devicesPerUser: [2, 1],
    });
    const [alice, bob] = scenario.users;
    const connect = async (url: string, token: string, name: string): Promise<TestClient> => {
      const client = await TestClient.connect({ url, token, name });
      clients.push(client);
      const ack = await client.emitWithAck('subscribe', { stream: scenario.stream });
      if (!ack.ok) throw new Error(`${name} could not subscribe: ${ack.error.message}`);
      return client;
    };
    const laptop = await connect(nodeA.url, alice!.devices[0]!.token, 'alice-laptop-on-a');
    const phone = await connect(nodeB.url, alice!.devices[1]!.token, 'alice-phone-on-b');
    const writer = await connect(nodeB.url, bob!.devices[0]!.token, 'bob-on-b');
    return {
      scenario,
      devices: { laptop, phone, writer, all: [laptop, phone, writer] },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
