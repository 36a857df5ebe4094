export { loadConfig, ConfigError, type SyncServerConfig } from './config.js';
export { startSyncServer, MAX_FRAME_BYTES, type SyncServer } from './sync-server.js';
