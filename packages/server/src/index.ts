export {
  loadConfig,
  ConfigError,
  DEFAULT_TRACE_SAMPLE_RATIO,
  type ServerRole,
  type SyncServerConfig,
} from './config.js';
export {
  startService,
  startSyncServer,
  startWorkerServer,
  type SyncServer,
  type SyncServerOptions,
  type WorkerServer,
} from './sync-server.js';
export { createServiceLogger, type ServiceLoggerOptions } from './log-redaction.js';
export { startServiceTracing, type ServiceTracing, type TracingCounts } from './tracing.js';
export { mintDevToken, DevTokenError, type DevTokenRequest } from './dev-tokens.js';
export type {
  DevicePresenceView,
  DeviceResyncView,
  DeviceSocketView,
  DeviceView,
  SocketStreamView,
  StreamResyncView,
  StreamSubscribersView,
  SubscriberView,
} from './http/inspector-routes.js';
