import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MAX_FRAME_BYTES } from '@ccs/protocol';
import type { TestDatabase } from '@ccs/test-env';
import { Server } from 'socket.io';
import type { GatewayMetrics } from '../src/gateway-metrics.js';
import {
  startGateway,
  type Gateway,
  type GatewayOptions,
  type GatewayRelayOptions,
} from '../src/gateway.js';
import type { GatewayLimits } from '../src/gateway-limits.js';
import type { GatewayServer } from '../src/gateway-socket.js';

export const jwtSecret = 'realtime-test-secret-0123456789';

export interface GatewayHarness {
  readonly url: string;
  readonly io: GatewayServer;
  readonly gateway: Gateway;
  close(): Promise<void>;
}

/** What a harness's gateway is started with besides its database. */
export interface GatewayHarnessOptions {
  readonly relay?: GatewayRelayOptions;
  readonly createRelay?: GatewayOptions['createRelay'];
  readonly limits?: GatewayLimits;
  readonly metrics?: GatewayMetrics;
  readonly tracer?: GatewayOptions['tracer'];
  readonly receivedReportMs?: number;
}

/** The gateway on a real socket.io server on an ephemeral loopback port. */
export async function startGatewayHarness(
  database: TestDatabase,
  {
    relay = {},
    createRelay,
    limits,
    metrics,
    tracer,
    receivedReportMs,
  }: GatewayHarnessOptions = {},
): Promise<GatewayHarness> {
  const http = createServer();
  const io: GatewayServer = new Server(http, { maxHttpBufferSize: MAX_FRAME_BYTES });
  const gateway = await startGateway({
    io,
    db: database.db,
    jwtSecret,
    relay,
    ...(createRelay ? { createRelay } : {}),
    ...(limits ? { limits } : {}),
    ...(metrics ? { metrics } : {}),
    ...(tracer ? { tracer } : {}),
    ...(receivedReportMs !== undefined && { receivedReportMs }),
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`,
    io,
    gateway,
    async close() {
      await io.close();
      await gateway.close();
    },
  };
}
