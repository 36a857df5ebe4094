export { loadConfig, ConfigError, type SyncServerConfig } from './config.js';
export { startSyncServer, type SyncServer } from './sync-server.js';
