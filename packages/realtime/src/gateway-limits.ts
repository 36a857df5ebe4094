/**
 * Limits against floods and slow consumers; each refusal is a `rate_limited` error with a
 * `retryAfterMs`. Socket counts and send rates are per node (as Centrifugo's connection limits
 * are): a device spreading over N nodes gets N times the allowance.
 */
export interface GatewayLimits {
  /** Sends per device per second, refilled continuously (a token bucket). @default 20 */
  readonly sendsPerSecond?: number;
  /** Sends a device may make at once after a pause (the bucket's size). @default 40 */
  readonly sendBurst?: number;
  /** Writes of one socket waiting for their ack, and of one device over REST. @default 8 */
  readonly sendsInFlightPerSocket?: number;
  /**
   * Events of one socket handled per turn of the event loop (one long-polling request, or the
   * WebSocket frames read together); the rest are refused. @default 32
   */
  readonly eventsPerBatch?: number;
  /** Sockets of one device on this node (handshakes under way included). @default 4 */
  readonly socketsPerDevice?: number;
  /** Sockets of one user on this node (handshakes under way included). @default 16 */
  readonly socketsPerUser?: number;
  /** Sends writing to the database at once, all sockets of this node together. @default 6 */
  readonly concurrentSends?: number;
  /** Sends waiting for one of those slots; more are refused at once. @default 256 */
  readonly queuedSends?: number;
  /**
   * `rate_limited` answers one socket may get in a second; a socket that keeps sending past
   * them is disconnected with `session_ended { reason: 'flooding' }`. @default 200
   */
  readonly refusalsPerSecond?: number;
  /** Handshakes per device per second (a token bucket), before the database is asked. @default 2 */
  readonly connectsPerSecond?: number;
  /** Handshakes a device may make at once after a pause. @default 10 */
  readonly connectBurst?: number;
  /**
   * Bytes sent to one socket and not yet written to the network; a socket over this for longer
   * than `slowConsumerGraceMs` gets `resync_required { reason: 'slow_consumer' }` for each
   * stream and is disconnected. @default 4 MiB
   */
  readonly outboundBufferBytes?: number;
  /**
   * How long a socket may stay over `outboundBufferBytes` (a burst it drains in time is fine).
   * What one slow socket can hold is about `outboundBufferBytes` plus this long of its rooms'
   * traffic. @default 1000
   */
  readonly slowConsumerGraceMs?: number;
  /**
   * Ephemeral requests per device per second: `typing:update` and `presence:list` (a token
   * bucket). The presence changes (online, offline) a device's subscribes and unsubscribes
   * cause are counted the same way in a bucket of their own, and wait for a token instead of
   * being refused, so flapping a subscription cannot flood a room. @default 10
   */
  readonly ephemeralPerSecond?: number;
  /** Ephemeral requests (and presence changes) a device may make at once after a pause. @default 20 */
  readonly ephemeralBurst?: number;
  /**
   * Presence changes are pushed (`presence` events) to a room of at most this many sockets on
   * the announcing node. In a larger room, pushing every member's changes to every member costs
   * members² frames (25 million for 5,000 members coming online), so its members ask
   * `presence:list` instead, as large-group chats do. @default 500
   */
  readonly presencePushMaxMembers?: number;
}

/** The limits a gateway applies where {@link GatewayLimits} leaves one out. */
export const DEFAULT_GATEWAY_LIMITS: Required<GatewayLimits> = {
  sendsPerSecond: 20,
  sendBurst: 40,
  sendsInFlightPerSocket: 8,
  eventsPerBatch: 32,
  refusalsPerSecond: 200,
  connectsPerSecond: 2,
  connectBurst: 10,
  socketsPerDevice: 4,
  socketsPerUser: 16,
  concurrentSends: 6,
  queuedSends: 256,
  outboundBufferBytes: 4 * 1024 * 1024,
  slowConsumerGraceMs: 1000,
  ephemeralPerSecond: 10,
  ephemeralBurst: 20,
  presencePushMaxMembers: 500,
};
