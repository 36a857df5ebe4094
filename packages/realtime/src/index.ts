export {
  startGateway,
  type Gateway,
  type GatewayOptions,
  type GatewayServer,
  type GatewaySocketData,
} from './gateway.js';
export {
  ChangeRelay,
  toChangeEvent,
  type AttachResult,
  type ChangeRelayOptions,
} from './change-relay.js';
export { createGatewayMetrics, type GatewayMetrics } from './gateway-metrics.js';
export { RealtimeError } from './realtime-error.js';
