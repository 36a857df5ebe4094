/**
 * A server under test, in a process of its own so that its RSS, CPU and event loop are its
 * own: the CCS gateway (`startGateway` on a socket.io server) or one of the peers. Started with
 * `--expose-gc`, so RSS per connection is measured after a full collection.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createDatabase } from '@ccs/db';
import { MAX_FRAME_BYTES } from '@ccs/protocol';
import { startGateway, type GatewayServer } from '@ccs/realtime';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { Server } from 'socket.io';
import { serveParentCalls } from '../ipc/parent-calls.js';
import { startPeerServer } from '../peers/peer-server.js';
import type { TargetServerCalls, TargetServerConfig } from './target-server-calls.js';

interface Running {
  readonly sockets: () => number;
  close(): Promise<void>;
}

let running: Running | undefined;
let baselineRss = 0;
let peakRss = 0;
let cpuMark = process.cpuUsage();
let timeMark = performance.now();
let loopMark = performance.eventLoopUtilization();
const lag = monitorEventLoopDelay({ resolution: 10 });
lag.enable();
setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
}, 200).unref();

function collectGarbage(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
}

/** The CCS gateway with the limits a load test is not about opened up (each scenario says which it tests). */
async function startCcs(config: TargetServerConfig): Promise<{ port: number; running: Running }> {
  const http = createServer();
  const io: GatewayServer = new Server(http, {
    maxHttpBufferSize: MAX_FRAME_BYTES,
    transports: ['websocket'],
  });
  const database = createDatabase({
    url: config.databaseUrl,
    maxConnections: 8,
    applicationName: 'ccs-load-gateway',
  });
  const authDatabase = createDatabase({
    url: config.databaseUrl,
    maxConnections: 4,
    applicationName: 'ccs-load-gateway-auth',
  });
  const redis = config.redisPresence ? new Redis(config.redisUrl) : undefined;
  const gateway = await startGateway({
    io,
    db: database.db,
    authDb: authDatabase.db,
    jwtSecret: config.jwtSecret,
    logger: pino({ level: 'warn' }),
    // Simulated users send faster than a person would; the abuse limits have their own bench.
    limits: {
      sendsPerSecond: 1_000,
      sendBurst: 1_000,
      sendsInFlightPerSocket: 64,
      ephemeralPerSecond: 100,
      ephemeralBurst: 100,
      ...config.limits,
    },
    ...(redis && { presence: { redis, prefix: `${config.redisKeyPrefix}ccs` } }),
  });
  await new Promise<void>((resolve) => http.listen(0, '0.0.0.0', resolve));
  return {
    port: (http.address() as AddressInfo).port,
    running: {
      sockets: () => io.of('/').sockets.size,
      async close() {
        await io.close();
        await gateway.close();
        await database.close();
        await authDatabase.close();
        if (redis) {
          const keys = await redis.keys(`${config.redisKeyPrefix}*`);
          if (keys.length > 0) await redis.del(...keys);
          redis.disconnect();
        }
      },
    },
  };
}

async function startPeer(config: TargetServerConfig): Promise<{ port: number; running: Running }> {
  if (config.target === 'ccs') throw new Error('not a peer');
  const peer = await startPeerServer({
    kind: config.target,
    host: '0.0.0.0',
    databaseUrl: config.databaseUrl,
    redisUrl: config.redisUrl,
    redisKeyPrefix: config.redisKeyPrefix,
  });
  return {
    port: peer.port,
    running: { sockets: () => peer.sockets(), close: () => peer.close() },
  };
}

serveParentCalls<TargetServerCalls>({
  async start(config) {
    if (running) throw new Error('target server already started');
    const started = config.target === 'ccs' ? await startCcs(config) : await startPeer(config);
    running = started.running;
    return { port: started.port };
  },

  markBaseline() {
    collectGarbage();
    baselineRss = process.memoryUsage.rss();
    peakRss = baselineRss;
    cpuMark = process.cpuUsage();
    timeMark = performance.now();
    loopMark = performance.eventLoopUtilization();
    lag.reset();
    return { rssBytes: baselineRss };
  },

  usage({ settle }) {
    if (settle) collectGarbage();
    const rss = process.memoryUsage.rss();
    peakRss = Math.max(peakRss, rss);
    const cpu = process.cpuUsage(cpuMark);
    return {
      rssBytes: rss,
      peakRssBytes: peakRss,
      baselineRssBytes: baselineRss,
      cpuMicros: cpu.user + cpu.system,
      elapsedMicros: (performance.now() - timeMark) * 1000,
      eventLoopUtilization: performance.eventLoopUtilization(loopMark).utilization,
      eventLoopLagP99Ms: lag.percentile(99) / 1e6,
      eventLoopLagMaxMs: lag.max / 1e6,
      sockets: running?.sockets() ?? 0,
    };
  },

  async stop() {
    const current = running;
    running = undefined;
    await current?.close();
    return {};
  },
});
