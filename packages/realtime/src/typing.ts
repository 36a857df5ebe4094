import type { GatewayMetrics } from './gateway-metrics.js';
import { EVENTS, streamName, typingUpdatePayloadSchema, type StreamName } from '@ccs/protocol';
import type { GatewaySocket } from './gateway-socket.js';
import { eventHandler, type EventHandler } from './inbound-events.js';
import { admitEphemeral, type EphemeralRates } from './presence.js';
import { RealtimeError } from './realtime-error.js';

/** A device repeating the same typing state within this long is not passed on again. */
const TYPING_THROTTLE_MS = 2000;

/**
 * Receivers show a `typing: true` at most this long unless it is renewed: a device that went
 * away while typing needs no `typing: false`. Three throttle windows: a device that keeps
 * typing renews it in time.
 */
const TYPING_EXPIRES_IN_MS = 3 * TYPING_THROTTLE_MS;

/** The typing state a device last passed on in a stream, and when. */
interface LastTyping {
  readonly typing: boolean;
  readonly at: number;
}

/**
 * Which typing updates are passed on, per device and stream (on this node): a change of state
 * at once, the same state again only once {@link TYPING_THROTTLE_MS} passed. What is older than
 * that is forgotten (it throttles nothing), so memory follows the devices typing right now.
 */
export class TypingThrottle {
  private readonly last = new Map<string, LastTyping>();
  private readonly sweeper: NodeJS.Timeout;

  constructor() {
    this.sweeper = setInterval(() => this.sweep(), TYPING_THROTTLE_MS);
    this.sweeper.unref();
  }

  /** Whether `typing` of the device in the stream is passed on now (and remembered if so). */
  pass(deviceId: string, stream: StreamName, typing: boolean, now = Date.now()): boolean {
    const key = `${deviceId} ${stream}`;
    const last = this.last.get(key);
    if (last && last.typing === typing && now - last.at < TYPING_THROTTLE_MS) return false;
    this.last.set(key, { typing, at: now });
    return true;
  }

  close(): void {
    clearInterval(this.sweeper);
  }

  private sweep(now = Date.now()): void {
    for (const [key, last] of this.last) {
      if (now - last.at >= TYPING_THROTTLE_MS) this.last.delete(key);
    }
  }
}

/**
 * `typing:update`, for every socket: in a conversation it is subscribed to, passed on as `typing`
 * to the conversation's other sockets on every node (the sender's other devices included),
 * unless the throttle holds it back (`forwarded: false`). Never stored, never numbered.
 */
export function typingUpdateHandler(
  throttle: TypingThrottle,
  rates: EphemeralRates,
  metrics?: GatewayMetrics,
): EventHandler {
  return eventHandler(
    typingUpdatePayloadSchema,
    async ({ conversationId, typing }, socket: GatewaySocket) => {
      const stream = streamName('conversation', conversationId);
      if (!socket.rooms.has(stream)) {
        throw new RealtimeError(
          'forbidden',
          `subscribe to ${stream} first: typing goes to its subscribers only`,
        );
      }
      const { userId, deviceId } = socket.data;
      if (!throttle.pass(deviceId, stream, typing)) {
        metrics?.eventsDropped.inc({ reason: 'typing_throttled' });
        return { forwarded: false };
      }
      socket.to(stream).emit(EVENTS.typing, {
        stream,
        userId,
        deviceId,
        typing,
        expiresInMs: TYPING_EXPIRES_IN_MS,
      });
      return { forwarded: true };
    },
    admitEphemeral(rates),
  );
}
