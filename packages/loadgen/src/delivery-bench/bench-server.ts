/**
 * The server under test, in a process of its own: the real gateway on a real socket.io server
 * (loopback, port 0). The runner drives it over IPC; bare-emit loads run here too, so they leave
 * from the same process to the same connected sockets as CCS deliveries. `stop` then `start`
 * serves again with other relay settings, in the same process.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createDatabase, type DatabaseHandle } from '@ccs/db';
import { startServiceTracing, type ServiceTracing, type TracingCounts } from '@ccs/server';
import { pino } from 'pino';
import { Server } from 'socket.io';
import { Registry } from 'prom-client';
import {
  createGatewayMetrics,
  startGateway,
  type Gateway,
  type GatewayServer,
} from '@ccs/realtime';
import { serveParentCalls } from '../ipc/parent-calls.js';
import { QueryCounter } from '../measure/query-counter.js';
import { runBareLoad } from './bare-emitter.js';
import type { ServerCalls } from './bench-ipc.js';
import { RelayProbe } from './relay-probe.js';

interface Running {
  readonly io: GatewayServer;
  readonly gateway: Gateway;
  readonly database: DatabaseHandle;
  readonly probe: RelayProbe | undefined;
  readonly counter: QueryCounter;
  readonly tracing: ServiceTracing | undefined;
}

let running: Running | undefined;
let lastLoop = performance.eventLoopUtilization();
/** The tracing counts at the previous `phaseStats`. */
let tracingTaken: TracingCounts = { spansEnded: 0, spansExported: 0 };

/** The spans ended and exported since the previous call. */
function takeTracingCounts(tracing: ServiceTracing): TracingCounts {
  const now = tracing.counts();
  const counts = {
    spansEnded: now.spansEnded - tracingTaken.spansEnded,
    spansExported: now.spansExported - tracingTaken.spansExported,
  };
  tracingTaken = now;
  return counts;
}

function requireRunning(): Running {
  if (!running) throw new Error('bench server not started; call start first');
  return running;
}

serveParentCalls<ServerCalls>({
  async start(config) {
    if (running) throw new Error('bench server already started; call stop first');
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
    const counter = new QueryCounter(database.pool);
    const probe = config.probeRelay ? new RelayProbe() : undefined;
    // As the sync-server runs it: metrics on a registry (nobody scrapes it here), and spans
    // batched over OTLP/HTTP when traced.
    const tracing = config.otlpEndpoint ? startServiceTracing(config.otlpEndpoint) : undefined;
    tracingTaken = { spansEnded: 0, spansExported: 0 };
    const gateway = await startGateway({
      io,
      db: database.db,
      jwtSecret: config.jwtSecret,
      logger: pino({ level: 'warn' }),
      relay: config.relay,
      // Delivery is measured here, not the limits: one bench client subscribes to 10,000
      // streams in one burst (the limits have their own bench, `nx run sync-server:bench`).
      limits: { eventsPerBatch: 1_000_000, refusalsPerSecond: 1_000_000 },
      ...(probe && { createRelay: probe.factory(config.relay) }),
      ...(config.metrics && { metrics: createGatewayMetrics(new Registry()) }),
      ...(tracing && { tracer: tracing.tracer, traceSampleRatio: config.traceSampleRatio }),
      receivedReportMs: config.receivedReportMs,
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    running = { io, gateway, database, probe, counter, tracing };
    return { port: (http.address() as AddressInfo).port };
  },

  bareLoad: (params) => runBareLoad(requireRunning().io, params),

  phaseStats() {
    const now = performance.eventLoopUtilization();
    const eventLoop = performance.eventLoopUtilization(now, lastLoop).utilization;
    lastLoop = now;
    const counts = running?.counter.take() ?? { queries: 0, checkouts: 0 };
    const relay = running?.probe?.take();
    const tracing = running?.tracing && takeTracingCounts(running.tracing);
    return {
      eventLoop,
      poolCheckouts: counts.checkouts,
      queries: counts.queries,
      ...(relay && { relay }),
      ...(tracing && { tracing }),
    };
  },

  async stop() {
    const current = running;
    running = undefined;
    if (current) {
      await current.io.close();
      await current.gateway.close();
      await current.tracing?.close();
      await current.database.close();
    }
    return {};
  },
});
