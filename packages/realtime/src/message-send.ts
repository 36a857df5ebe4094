import { insertMessage, isConversationMember, type Database } from '@ccs/db';
import { messageSendPayloadSchema } from '@ccs/protocol';
import type { GatewaySocket } from './gateway-socket.js';
import { eventHandler, type EventHandler } from './inbound-events.js';
import { RealtimeError } from './realtime-error.js';
import { rateLimited, type SendQueue, type TokenBuckets } from './send-limits.js';

/** What a socket refused for having too many sends in flight is told to wait. */
const IN_FLIGHT_RETRY_AFTER_MS = 20;

/** What {@link messageSendHandler} needs besides the socket. */
export interface MessageSendDeps {
  /** Where messages are written. */
  readonly db: Database;
  /** The gateway's bound on sends writing and waiting. */
  readonly sends: SendQueue;
  /** Sends per device. */
  readonly sendRates: TokenBuckets;
  readonly sendsPerSecond: number;
  readonly sendsInFlightPerSocket: number;
  /** Called after a send committed a new message (wakes the relays). */
  readonly committed: () => void;
}

/**
 * `message:send` of one socket: refused before its payload is parsed when the socket has too
 * many sends awaiting their ack or the device is over its rate; otherwise written (members only)
 * in one transaction, idempotent on the device's client id, acked with its stream and seq.
 */
export function messageSendHandler(socket: GatewaySocket, deps: MessageSendDeps): EventHandler {
  let inFlight = 0;
  return eventHandler(
    messageSendPayloadSchema,
    async (payload) => {
      const { userId, deviceId } = socket.data;
      return deps.sends.run(async () => {
        if (!(await isConversationMember(deps.db, payload.conversationId, userId))) {
          throw new RealtimeError(
            'forbidden',
            `not a member of conversation ${payload.conversationId}`,
          );
        }
        const stored = await insertMessage(deps.db, { ...payload, authorId: userId, deviceId });
        if (stored.created) deps.committed();
        return { id: stored.message.id, stream: stored.stream, seq: stored.seq };
      });
    },
    () => {
      if (inFlight >= deps.sendsInFlightPerSocket) {
        throw rateLimited(
          `${deps.sendsInFlightPerSocket} sends of this socket await their ack; wait for one`,
          IN_FLIGHT_RETRY_AFTER_MS,
        );
      }
      const waitMs = deps.sendRates.take(socket.data.deviceId);
      if (waitMs > 0) {
        throw rateLimited(
          `this device sends over ${deps.sendsPerSecond} messages per second`,
          waitMs,
        );
      }
      inFlight++;
      return () => {
        inFlight--;
      };
    },
  );
}
