/** Test data of the delivery bench shared by its tests. */
import { LatencyHistogram } from '@ccs/test-clients';
import type { PhaseResult } from './load-phase-runner.js';

/**
 * An encoded latency histogram of 100 deliveries whose p50 is `p50Ms` and whose p99 is `p99Ms`
 * (98 at one, 2 at the other; within the histogram's 0.1 %).
 */
export function latencyOf(p50Ms: number, p99Ms: number): string {
  const latency = LatencyHistogram.empty();
  for (let i = 0; i < 100; i++) latency.record((i < 98 ? p50Ms : p99Ms) * 1000);
  return latency.encode();
}

/** A clean phase: everything delivered once, in order; `overrides` change what a test needs. */
export function phase(overrides: Partial<PhaseResult> = {}): PhaseResult {
  return {
    p50Ms: 2,
    p99Ms: 8,
    maxMs: 20,
    latencyHistogram: latencyOf(2, 8),
    deliveriesPerSec: 10_000,
    lost: 0,
    duplicated: 0,
    outOfOrder: 0,
    resyncs: 0,
    lateDeliveries: 0,
    commitToReceive: { p50Ms: 1.5, p99Ms: 6, maxMs: 15 },
    offeredWritesPerSec: 500,
    writesPerSec: 500,
    expectedDeliveries: 100_000,
    receivedDeliveries: 100_000,
    silentClients: 0,
    durationSec: 10,
    tailMs: 5,
    writeErrors: 0,
    disconnects: 0,
    attempts: 1,
    cpuCores: { gateway: 0.4, other: 0.05 },
    eventLoop: { server: 0.3, clients: [0.2, 0.2] },
    gatewayQueriesPerSec: 400,
    ...overrides,
  };
}
