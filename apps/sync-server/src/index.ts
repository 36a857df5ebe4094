export { loadConfig, ConfigError, type SyncServerConfig } from './config.js';
export { startSyncServer, type SyncServer } from './sync-server.js';
export { createServiceLogger, type ServiceLoggerOptions } from './log-redaction.js';
