/**
 * The shape of what `ccs-load` measures: one {@link LoadReport} per run, written as JSON, printed
 * as a console table and rendered as a self-contained HTML page.
 */

import type { LatencyBucket, LatencyPercentiles } from '@ccs/test-clients';

/** Latency percentiles of one measurement, in milliseconds (HDR histogram, 3 digits). */
export type { LatencyPercentiles };

/** One bar of a latency histogram: samples above the previous bucket's bound, up to `upToMs`. */
export type HistogramBucket = LatencyBucket;

/** Percentiles plus the distribution, for the histogram plot. */
export interface LatencyDistribution extends LatencyPercentiles {
  readonly buckets: readonly HistogramBucket[];
}

/** Latency of the samples recorded during one second of a run (for latency-over-time plots). */
export interface TimelinePoint {
  /** Seconds since the run's load started. */
  readonly atSec: number;
  readonly count: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

/** The systems one scenario is run against, with the same clients and payloads. */
export const TARGET_NAMES = ['ccs', 'bare', 'postgres-adapter', 'redis-streams'] as const;
export type TargetName = (typeof TARGET_NAMES)[number];

/** What one server process used while it ran a scenario. */
export interface ServerUsage {
  /** Peak resident set size, bytes. */
  readonly peakRssBytes: number;
  /**
   * (RSS after a full GC with every client connected − RSS before the first connect) ÷
   * connections; measured by the scenarios that hold connections idle (connection-storm).
   */
  readonly rssPerConnectionBytes?: number;
  /** Mean CPU use over the run, in cores (1 = one core busy). */
  readonly cpuCores: number;
  /** Event-loop delay (`monitorEventLoopDelay`), ms. */
  readonly eventLoopLagP99Ms: number;
  readonly eventLoopLagMaxMs: number;
  /** Event-loop utilisation over the run, 0..1. */
  readonly eventLoopUtilization: number;
}

/** Connection attempts of one run. */
export interface ConnectionStats {
  readonly attempted: number;
  readonly succeeded: number;
  readonly failed: number;
  /** Successful connects ÷ time from the first attempt to the last success. */
  readonly perSec: number;
  /** Attempt → `connect` event. */
  readonly connectTime: LatencyDistribution;
  /** A few failure messages, for the reader. */
  readonly failures: readonly string[];
}

/** Subscribe requests of one run. */
export interface SubscribeStats {
  readonly attempted: number;
  readonly failed: number;
  readonly perSec: number;
  /** Request → acknowledgement. */
  readonly latency: LatencyDistribution;
}

/** What the clients received, judged by per-stream seq. */
export interface DeliveryStats {
  /** Deliveries the clients should have had: sends × subscribers of the stream. */
  readonly expected: number;
  /** Distinct (client, stream, seq) received. */
  readonly received: number;
  readonly lost: number;
  readonly duplicated: number;
  readonly outOfOrder: number;
}

/** Clients cut off on purpose and how they came back. */
export interface ResumeStats {
  readonly dropped: number;
  readonly resumed: number;
  /**
   * Drop → connected again: socket.io's reconnection delay (1 s ± 50 %) plus the handshake,
   * queued behind everyone else's in a storm.
   */
  readonly reconnect: LatencyDistribution;
  /**
   * Connected again → live with nothing missing (CCS: re-subscribe with `since` acked, the gap
   * replayed; socket.io CSR: `connect` with `recovered`, else re-joined and the gap lost).
   */
  readonly time: LatencyDistribution;
}

/** One scenario against one target. */
export interface TargetRun {
  readonly target: TargetName;
  /** Seconds from the first connect to the end of the drain. */
  readonly durationSec: number;
  readonly connections: ConnectionStats;
  readonly subscribes?: SubscribeStats;
  /** Client send → its acknowledgement. */
  readonly sendToAck?: LatencyDistribution;
  /** Client send → receipt by another device (the body carries the send time). */
  readonly sendToReceive?: LatencyDistribution;
  /** CCS: the change's `committedAt` → receipt; peers: the emit → receipt. */
  readonly commitToReceive?: LatencyDistribution;
  /** `sendToReceive` per second of the load. */
  readonly timeline: readonly TimelinePoint[];
  readonly sendsPerSec: number;
  readonly deliveriesPerSec: number;
  readonly delivery: DeliveryStats;
  /** Disconnects the clients saw, by socket.io reason (`transport close`, `io server disconnect`, …). */
  readonly disconnects: Readonly<Record<string, number>>;
  readonly resume?: ResumeStats;
  /** One entry per server process (several when the scenario runs more than one gateway). */
  readonly servers: readonly ServerUsage[];
  /** Mean CPU of the client processes, in cores. */
  readonly clientCpuCores: number;
  /** Anything the reader must know to trust the numbers (e.g. sends refused, a step retried). */
  readonly notes: readonly string[];
}

/** A threshold and whether a run met it; any failed check makes `ccs-load` exit non-zero. */
export interface ThresholdCheck {
  readonly scenario: string;
  readonly target: TargetName;
  /** What is compared, e.g. `sendToReceive.p99Ms` or `connections.perSec ÷ bare`. */
  readonly metric: string;
  readonly actual: number;
  readonly limit: number;
  readonly comparator: '<=' | '>=';
  readonly passed: boolean;
}

/** One scenario, run against each target in turn. */
export interface ScenarioResult {
  readonly scenario: string;
  readonly description: string;
  /** The sizes and rates it ran with. */
  readonly settings: Readonly<Record<string, number | string | boolean>>;
  readonly runs: readonly TargetRun[];
}

/** The machine a report was measured on. */
export interface MachineDescription {
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryBytes: number;
  readonly node: string;
  readonly postgres: string;
  readonly openFileLimit: number;
  readonly platform: string;
}

/** Everything one `ccs-load` run measured. */
export interface LoadReport {
  readonly tool: 'ccs-load';
  readonly startedAt: string;
  readonly finishedAt: string;
  /** The command line that reproduces it. */
  readonly command: string;
  readonly machine: MachineDescription;
  readonly scenarios: readonly ScenarioResult[];
  readonly checks: readonly ThresholdCheck[];
  /** True when every check passed and no CCS run lost, duplicated or reordered a delivery. */
  readonly passed: boolean;
}
