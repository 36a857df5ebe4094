import { randomBytes } from 'node:crypto';
import { freePort } from '@ccs/test-env';
import {
  startSyncServerProcess,
  type SyncServerProcess,
  type SyncServerProcessOptions,
} from '@ccs/test-server';
import type { GatewayNode, StackControl } from './fault-target.js';
import { startThrowawayPostgres, type ThrowawayPostgres } from './throwaway-postgres.js';
import { startThrowawayRedis, type ThrowawayRedis } from './throwaway-redis.js';

const NODES: readonly GatewayNode[] = ['A', 'B'];

/**
 * The suite's own stack (what CI runs): a `redis-server` and a PostgreSQL cluster of its own
 * (`initdb` in a temp dir, free loopback ports, migrated), never the machine's shared ones, and
 * two gateway processes of the built sync-server on fixed free ports, so a killed gateway comes
 * back on the same URL. Presence renews every second, so its recovery is quick to observe.
 */
export async function startOwnStack(): Promise<StackControl> {
  let redis: ThrowawayRedis | undefined;
  let postgres: ThrowawayPostgres | undefined;
  const running = new Map<GatewayNode, SyncServerProcess>();
  const close = async (): Promise<void> => {
    await Promise.all([...running.values()].map((gateway) => gateway.stop()));
    running.clear();
    await redis?.close();
    await postgres?.close();
  };
  try {
    redis = await startThrowawayRedis();
    postgres = await startThrowawayPostgres();
    const jwtSecret = randomBytes(24).toString('hex');
    const ports = new Map<GatewayNode, number>();
    for (const node of NODES) ports.set(node, await freePort());
    const options = (node: GatewayNode): SyncServerProcessOptions => ({
      databaseUrl: postgres!.url,
      redisUrl: redis!.url,
      redisPrefix: 'ccs-fault',
      role: 'gateway',
      jwtSecret,
      env: {
        PORT: String(ports.get(node)),
        CCS_PRESENCE_HEARTBEAT_MS: '1000',
        CCS_PRESENCE_TTL_MS: '3000',
      },
    });
    const gateways = {
      A: `http://127.0.0.1:${ports.get('A')}`,
      B: `http://127.0.0.1:${ports.get('B')}`,
    };
    const start = async (node: GatewayNode): Promise<void> => {
      const gateway = await startSyncServerProcess(options(node));
      running.set(node, gateway);
      if (gateway.url !== gateways[node]) {
        throw new Error(`gateway ${node} listens on ${gateway.url}, not ${gateways[node]}`);
      }
    };
    const kill = async (node: GatewayNode): Promise<void> => {
      await running.get(node)?.kill('SIGKILL');
      running.delete(node);
    };
    await Promise.all(NODES.map(start));
    const { crash, start: startPostgres } = postgres;
    const { kill: killRedis, start: startRedis } = redis;
    return {
      description: 'own stack (throwaway redis-server and PostgreSQL cluster, two gateways)',
      gateways,
      jwtSecret,
      databaseUrl: postgres.url,
      readyTimeoutMs: 15_000,
      actions: {
        killGatewayA: () => kill('A'),
        startGatewayA: () => start('A'),
        killGatewayB: () => kill('B'),
        startGatewayB: () => start('B'),
        stopRedis: killRedis,
        startRedis,
        crashPostgres: crash,
        startPostgres,
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
