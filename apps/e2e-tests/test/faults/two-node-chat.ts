import { EventEmitter } from 'node:events';
import { seedConversationScenario, type ConversationScenario } from '@ccs/fixtures';
import { TestClient } from '@ccs/test-clients';
import type { FaultTarget, GatewayNode } from './fault-target.js';

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

/** A conversation on a target's two gateways, and devices chatting across them. */
export interface TwoNodeChat {
  readonly scenario: ConversationScenario;
  readonly devices: DevicesOnTwoNodes;
  /**
   * Brings a device back after its connection was lost, as a device does: it connects to the
   * first of `nodes` that takes it (trying them in turn for up to `timeoutMs`) and subscribes
   * again from the last seq it has. Calls for a device already on its way back share that move.
   */
  resume(device: TestClient, nodes: readonly GatewayNode[], timeoutMs?: number): Promise<void>;
  /** Waits for `seqs` on every device; each must get every one once, in order, and nothing else. */
  expectDelivered(seqs: readonly number[], timeoutMs: number): Promise<void>;
  /** Closes the devices; resolves once their connections are closed at both ends. */
  close(): Promise<void>;
}

/**
 * Resolves once the WebSocket under `client`'s connection now has closed (at once when there is
 * none, or it has). A socket.io client's close only starts WebSocket's closing handshake, whose
 * 30 s timer runs until the server answers: a test that ended before would leave it behind.
 * engine.io keeps its `ws` protected, so it is looked up, and not waited for if not found.
 */
function whenClosed(client: TestClient): Promise<void> {
  const transport: unknown = client.socket.io.engine?.transport;
  const ws: unknown =
    typeof transport === 'object' && transport ? Reflect.get(transport, 'ws') : undefined;
  const closed = !(ws instanceof EventEmitter) || Reflect.get(ws, 'readyState') === 3;
  if (closed) return Promise.resolve();
  return new Promise((resolve) => ws.once('close', () => resolve()));
}

/**
 * Seeds a conversation through the target's database (Alice with two devices, Bob with one) and
 * connects the devices across its gateways, so every change has to cross from the writer's node
 * to the other as well. The devices are closed again if a step fails.
 */
export async function startTwoNodeChat(target: FaultTarget): Promise<TwoNodeChat> {
  const clients: TestClient[] = [];
  const close = async (): Promise<void> => {
    const closed = clients.map(whenClosed);
    for (const client of clients) client.close();
    await Promise.all(closed);
  };
  try {
    const scenario = await seedConversationScenario(target.db, {
      jwtSecret: target.jwtSecret,
      devicesPerUser: [2, 1],
    });
    const { stream } = scenario;
    // Each device's head at its first subscribe: it resumes from there if it got nothing since.
    const heads = new Map<TestClient, number>();
    const subscribe = async (client: TestClient): Promise<void> => {
      const since = Math.max(heads.get(client) ?? 0, client.lastSeq(stream));
      const ack = await client.emitWithAck(
        'subscribe',
        heads.has(client) ? { stream, since } : { stream },
      );
      if (!ack.ok) throw new Error(`${client.name} could not subscribe: ${ack.error.message}`);
      if (!heads.has(client)) heads.set(client, ack.head);
    };
    const [alice, bob] = scenario.users;
    const connect = async (node: GatewayNode, token: string, name: string) => {
      const client = await TestClient.connect({ url: target.gateways[node], token, name });
      clients.push(client);
      await subscribe(client);
      return client;
    };
    const laptop = await connect('A', alice!.devices[0]!.token, 'alice-laptop-on-a');
    const phone = await connect('B', alice!.devices[1]!.token, 'alice-phone-on-b');
    const writer = await connect('B', bob!.devices[0]!.token, 'bob-on-b');

    const moving = new Map<TestClient, Promise<void>>();
    const move = async (device: TestClient, nodes: readonly GatewayNode[], timeoutMs: number) => {
      const deadline = Date.now() + timeoutMs;
      for (let attempt = 0; ; attempt++) {
        const url = target.gateways[nodes[attempt % nodes.length]!];
        const left = whenClosed(device);
        try {
          await device.reconnect({ url });
          break;
        } catch (error) {
          if (Date.now() > deadline) {
            const tried = nodes.join(', ');
            throw new Error(`${device.name} found no gateway of ${tried} to take it`, {
              cause: error,
            });
          }
          // Not up (yet): try the next one, as a device's reconnect backoff does.
          await new Promise((resolve) => setTimeout(resolve, 100));
        } finally {
          await left;
        }
      }
      await subscribe(device);
    };
    return {
      scenario,
      devices: { laptop, phone, writer, all: [laptop, phone, writer] },
      resume(device, nodes, timeoutMs = 60_000) {
        let moved = moving.get(device);
        if (!moved) {
          moved = move(device, nodes, timeoutMs).finally(() => moving.delete(device));
          moving.set(device, moved);
        }
        return moved;
      },
      async expectDelivered(seqs, timeoutMs) {
        for (const device of [laptop, phone, writer]) {
          await device.expectReceivedOnce(stream, seqs, { timeout: timeoutMs });
        }
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
