import type { GatewayLimits } from '@ccs/realtime';
import type { TargetName } from '../report/load-report.js';

/** What a target server process is started with. */
export interface TargetServerConfig {
  readonly target: TargetName;
  readonly databaseUrl: string;
  /** CCS: the secret device tokens are signed with. */
  readonly jwtSecret: string;
  /** CCS presence and the redis-streams peer. */
  readonly redisUrl: string;
  /** Keys this run may create (and deletes when it stops). */
  readonly redisKeyPrefix: string;
  /**
   * CCS: share presence through Redis (as a multi-node deployment does). Off, presence is the
   * node's own and costs no Redis round trip per subscribe.
   */
  readonly redisPresence: boolean;
  /** CCS: limits the scenario sets on top of the load test's (e.g. a smaller outbound buffer). */
  readonly limits?: GatewayLimits;
}

/** What a server process used, since `markBaseline` (CPU, loop) or in all (peak RSS). */
export interface TargetUsage {
  readonly rssBytes: number;
  readonly peakRssBytes: number;
  /** RSS after a full GC when `markBaseline` ran. */
  readonly baselineRssBytes: number;
  readonly cpuMicros: number;
  readonly elapsedMicros: number;
  readonly eventLoopUtilization: number;
  readonly eventLoopLagP99Ms: number;
  readonly eventLoopLagMaxMs: number;
  /** Sockets the server holds. */
  readonly sockets: number;
}

export interface TargetServerCalls {
  start: { params: TargetServerConfig; result: { port: number } };
  /** Collects garbage, takes RSS as the baseline, restarts the CPU and loop counters. */
  markBaseline: { params: Record<string, never>; result: { rssBytes: number } };
  /** Collects garbage first when `settle` (for RSS per connection), then reports. */
  usage: { params: { settle: boolean }; result: TargetUsage };
  stop: { params: Record<string, never>; result: Record<string, never> };
}
