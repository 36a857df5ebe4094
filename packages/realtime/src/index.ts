export {
  startGateway,
  type GatewayRelayOptions,
  type RelayDeps,
  type Gateway,
  type GatewayOptions,
} from './gateway.js';
export { DEFAULT_GATEWAY_LIMITS, type GatewayLimits } from './gateway-limits.js';
export type { GatewayServer, GatewaySocket, GatewaySocketData } from './gateway-socket.js';
export { ChangeRelay, type ChangeRelayOptions, type TailRead } from './change-relay.js';
export type { WakeSignal } from './wake-signal.js';
export type {
  AttachResult,
  BroadcastChanges,
  ObserveChanges,
  RelayAttachment,
  ReplayChanges,
  RelaySubscription,
  RequestResync,
  StreamRelay,
} from './stream-relay.js';
export {
  createGatewayMetrics,
  type GatewayGaugeSources,
  type GatewayMetrics,
  type ResumeOutcome,
} from './gateway-metrics.js';
export { RealtimeError } from './realtime-error.js';
export { toWireError } from './wire-errors.js';
export { requireActiveDevice, verifyToken } from './handshake-auth.js';
export { rateLimited, TokenBuckets } from './send-limits.js';
export { WriteGate } from './write-gate.js';
export { parsePayload } from './payload-validation.js';
export {
  parsePresenceEntry,
  presenceEntry,
  RedisPresenceStore,
  type RedisPresenceOptions,
} from './presence-store.js';
export { ChangeTracing, TRACE_ATTRIBUTES, type WriteTransport } from './change-tracing.js';
