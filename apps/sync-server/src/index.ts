export { loadConfig, ConfigError, type ServerRole, type SyncServerConfig } from './config.js';
export {
  startService,
  startSyncServer,
  startWorkerServer,
  type SyncServer,
  type WorkerServer,
} from './sync-server.js';
export { createServiceLogger, type ServiceLoggerOptions } from './log-redaction.js';
