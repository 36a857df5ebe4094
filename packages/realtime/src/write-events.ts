import { WRITE_EVENTS, type WriteEventName } from '@ccs/protocol';
import type { GatewaySocket } from './gateway-socket.js';
import { eventHandler, type EventHandler } from './inbound-events.js';
import { rateLimited } from './send-limits.js';
import { IN_FLIGHT_RETRY_AFTER_MS, type WriteGate } from './write-gate.js';
import { WRITE_OPERATIONS } from './write-operations.js';

/**
 * The write events of one socket (`message:send`, `file:push`, …): refused before the payload
 * is parsed when the socket has `writesInFlight` writes awaiting their ack or the device is
 * over its rate; otherwise run through the gateway's {@link WriteGate}, as the socket's user and
 * device.
 */
export function writeEventHandlers(
  socket: GatewaySocket,
  gate: WriteGate,
  writesInFlight: number,
): { readonly [E in WriteEventName]: EventHandler } {
  let inFlight = 0;
  const admit = (): (() => void) => {
    if (inFlight >= writesInFlight) {
      throw rateLimited(
        `${writesInFlight} writes of this socket await their ack; wait for one`,
        IN_FLIGHT_RETRY_AFTER_MS,
      );
    }
    gate.admit(socket.data.deviceId);
    inFlight++;
    return () => {
      inFlight--;
    };
  };
  const handler = <E extends WriteEventName>(event: E): EventHandler =>
    eventHandler(
      WRITE_OPERATIONS[event].schema,
      (payload) => gate.run(event, socket.data, payload),
      admit,
    );
  return Object.fromEntries(WRITE_EVENTS.map((event) => [event, handler(event)])) as {
    readonly [E in WriteEventName]: EventHandler;
  };
}
