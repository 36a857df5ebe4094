/**
 * The server under test, in a process of its own: the real gateway on a real socket.io server
 * (loopback, port 0). The runner drives it over IPC; bare-emit loads run here too, so they leave
 * from the same process to the same connected sockets as CCS deliveries.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createDatabase, type DatabaseHandle } from '@ccs/db';
import { pino } from 'pino';
import { Server } from 'socket.io';
import { startGateway, type Gateway, type GatewayServer } from '../src/gateway.js';
import { runBareLoad } from './bare-emitter.js';
import type { ServerCalls } from './bench-ipc.js';
import { serveParentCalls } from './parent-calls.js';
import { RelayProbe } from './relay-probe.js';

interface Running {
  readonly io: GatewayServer;
  readonly gateway: Gateway;
  readonly database: DatabaseHandle;
  readonly probe: RelayProbe | undefined;
}

let running: Running | undefined;
let lastLoop = performance.eventLoopUtilization();
let poolCheckouts = 0;

function requireRunning(): Running {
  if (!running) throw new Error('bench server not started; call start first');
  return running;
}

serveParentCalls<ServerCalls>({
  async start(config) {
    const http = createServer();
    const io: GatewayServer = new Server(http, {
      maxHttpBufferSize: 64 * 1024,
      transports: ['websocket'],
    });
    const database = createDatabase({
      url: config.databaseUrl,
      maxConnections: config.maxConnections,
      applicationName: 'ccs-bench-gateway',
    });
    database.pool.on('acquire', () => poolCheckouts++);
    const probe = config.probeRelay ? new RelayProbe() : undefined;
    const gateway = await startGateway({
      io,
      db: database.db,
      databaseUrl: config.databaseUrl,
      jwtSecret: config.jwtSecret,
      logger: pino({ level: 'warn' }),
      relay: config.relay,
      ...(probe && { createRelay: probe.factory(config.relay) }),
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    running = { io, gateway, database, probe };
    return { port: (http.address() as AddressInfo).port };
  },

  bareLoad: (params) => runBareLoad(requireRunning().io, params),

  phaseStats() {
    const now = performance.eventLoopUtilization();
    const eventLoop = performance.eventLoopUtilization(now, lastLoop).utilization;
    lastLoop = now;
    const checkouts = poolCheckouts;
    poolCheckouts = 0;
    const relay = running?.probe?.take();
    return { eventLoop, poolCheckouts: checkouts, ...(relay && { relay }) };
  },

  async stop() {
    const current = running;
    running = undefined;
    if (current) {
      await current.io.close();
      await current.gateway.close();
      await current.database.close();
    }
    return {};
  },
});
