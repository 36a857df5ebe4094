import type { PresenceEvent, PresenceMember, StreamName } from '@ccs/protocol';
import type { TestClient } from './test-client.js';

/** The `presence` events a client received about one device, in arrival order. */
export function presenceOf(client: TestClient, deviceId: string): PresenceEvent[] {
  return client
    .received('presence')
    .map(([event]) => event)
    .filter((event) => event.deviceId === deviceId);
}

/**
 * Waits for the `index`-th (0-based) `presence` event about the device (received already or
 * still to come) and returns it.
 */
export async function nthPresence(
  client: TestClient,
  deviceId: string,
  index: number,
  timeout?: number,
): Promise<PresenceEvent> {
  const events = await client.waitForCount('presence', index + 1, {
    predicate: (event) => event.deviceId === deviceId,
    ...(timeout !== undefined && { timeout }),
  });
  return events[index]![0];
}

/** Who is online in a stream the client is subscribed to (`presence:list`); throws if refused. */
export async function presenceMembers(
  client: TestClient,
  stream: StreamName,
): Promise<PresenceMember[]> {
  const ack = await client.emitWithAck('presence:list', { stream });
  if (!ack.ok) throw new Error(`presence:list failed: ${ack.error.code} ${ack.error.message}`);
  return [...ack.members];
}
