#!/usr/bin/env node
// The sync-server process: `node dist/main.js [--role gateway|worker|all] [--migrate] [--demo]`.
// Configuration comes from the environment (see config.ts). `--role` (or CCS_ROLE, default all)
// says what runs: the socket.io gateway and REST, the background jobs, or both. `--migrate`
// applies pending migrations first (containers); `--demo` seeds demo users and plays a live demo
// once serving (a gateway role).
import { parseArgs } from 'node:util';
import { migrateDatabase } from '@ccs/db';
import {
  ConfigError,
  createServiceLogger,
  loadConfig,
  startService,
  type SyncServerConfig,
} from '@ccs/server';
import { registerDemoPage } from './demo/demo-page.js';
import { runLiveDemo } from './demo/live-demo.js';

const { values } = parseArgs({
  options: {
    demo: { type: 'boolean', default: false },
    migrate: { type: 'boolean', default: false },
    role: { type: 'string' },
  },
});
let config: SyncServerConfig;
try {
  config = loadConfig(
    values.role === undefined ? process.env : { ...process.env, CCS_ROLE: values.role },
  );
  if (values.demo && config.role === 'worker') {
    throw new ConfigError('--demo needs a gateway: run it with --role all or gateway');
  }
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(error.message);
  process.exit(1);
}
// Error lines keep type, code, SQL text and stack, never message bodies or SQL parameters.
const logger = createServiceLogger({ level: config.logLevel });

if (values.migrate) {
  await migrateDatabase(config.databaseUrl);
  logger.info('migrations applied');
}
const server = await startService(config, logger, {
  // Harmless without a token, so served everywhere; it mints tokens only outside production,
  // where `POST /v1/dev/tokens` is served.
  registerRoutes: (app) => registerDemoPage(app, { devTokens: config.env !== 'production' }),
});
logger.info(
  { url: server.url, port: Number(new URL(server.url).port), role: server.role },
  'listening',
);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  });
}

if (values.demo && server.role !== 'worker') {
  await runLiveDemo({ url: server.url, db: server.database.db, jwtSecret: config.jwtSecret }).catch(
    (error: unknown) => logger.error({ err: error }, 'live demo failed'),
  );
}
