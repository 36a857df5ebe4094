import { WRITE_EVENTS, type WriteEventName } from '@ccs/protocol';
import type { GatewaySocket } from './gateway-socket.js';
import { eventHandler, type EventHandler } from './inbound-events.js';
import { rateLimited } from './send-limits.js';
import { IN_FLIGHT_RETRY_AFTER_MS, type WriteGate } from './write-gate.js';
import { WRITE_OPERATIONS } from './write-operations.js';

/**
 * The write events (`message:send`, `file:push`, …), for every socket: refused before the
 * payload is parsed when the socket has `writesInFlight` writes awaiting their ack or the device
 * is over its rate; otherwise run through the gateway's {@link WriteGate}, as the socket's user
 * and device. A socket's writes in flight are counted in `inFlight`.
 */
export function writeEventHandlers(
  gate: WriteGate,
  writesInFlight: number,
  inFlight: WritesInFlight,
): { readonly [E in WriteEventName]: EventHandler } {
  const admit = (socket: GatewaySocket): (() => void) => {
    const count = inFlight.get(socket);
    if (count >= writesInFlight) {
      throw rateLimited(
        `${writesInFlight} writes of this socket await their ack; wait for one`,
        IN_FLIGHT_RETRY_AFTER_MS,
      );
    }
    gate.admit(socket.data.deviceId);
    inFlight.set(socket, count + 1);
    return () => inFlight.set(socket, inFlight.get(socket) - 1);
  };
  const handler = <E extends WriteEventName>(event: E): EventHandler =>
    eventHandler(
      WRITE_OPERATIONS[event].schema,
      (payload, socket) => gate.run(event, socket.data, payload),
      admit,
    );
  return Object.fromEntries(WRITE_EVENTS.map((event) => [event, handler(event)])) as {
    readonly [E in WriteEventName]: EventHandler;
  };
}

/** Where each socket's count of writes awaiting their ack is kept. */
export interface WritesInFlight {
  get(socket: GatewaySocket): number;
  set(socket: GatewaySocket, count: number): void;
}
