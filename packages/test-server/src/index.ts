export {
  startSyncServerProcess,
  SYNC_SERVER_ENTRY,
  TEST_SERVER_JWT_SECRET,
  waitForChangeDispatcher,
  type SyncServerProcess,
  type SyncServerProcessOptions,
} from './sync-server-process.js';
