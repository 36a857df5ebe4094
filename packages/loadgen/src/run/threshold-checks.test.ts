import { describe, expect, test } from 'vitest';
import type { ScenarioResult, TargetRun } from '../report/load-report.js';
import { suiteChecks } from './bench-suite.js';
import { thresholdChecks } from './threshold-checks.js';

const distribution = (p99Ms: number) => ({
  count: 10,
  meanMs: p99Ms / 2,
  p50Ms: p99Ms / 2,
  p90Ms: p99Ms,
  p99Ms,
  p999Ms: p99Ms,
  maxMs: p99Ms,
  buckets: [],
});

function run(target: TargetRun['target'], changes: Partial<TargetRun> = {}): TargetRun {
  return {
    target,
    durationSec: 10,
    connections: {
      attempted: 100,
      succeeded: 100,
      failed: 0,
      perSec: 1_000,
      connectTime: distribution(20),
      failures: [],
    },
    subscribes: { attempted: 100, failed: 0, perSec: 2_500, latency: distribution(10) },
    sendToReceive: distribution(12),
    timeline: [],
    sendsPerSec: 100,
    deliveriesPerSec: 1_000,
    delivery: { expected: 1_000, received: 1_000, lost: 0, duplicated: 0, outOfOrder: 0 },
    disconnects: {},
    servers: [
      {
        peakRssBytes: 1e8,
        rssPerConnectionBytes: 18_000,
        cpuCores: 0.5,
        eventLoopLagP99Ms: 10,
        eventLoopLagMaxMs: 20,
        eventLoopUtilization: 0.4,
      },
    ],
    clientCpuCores: 0.5,
    notes: [],
    ...changes,
  };
}

const scenario = (name: string, runs: TargetRun[]): ScenarioResult => ({
  scenario: name,
  description: '',
  settings: {},
  runs,
});

describe('threshold checks', () => {
  test('every CCS run is held to no loss, duplicate or reordering; peers are not', () => {
    const checks = thresholdChecks(
      [
        scenario('chat-fanout', [
          run('ccs', {
            delivery: { expected: 10, received: 9, lost: 1, duplicated: 0, outOfOrder: 0 },
          }),
          run('bare', {
            delivery: { expected: 10, received: 5, lost: 5, duplicated: 0, outOfOrder: 0 },
          }),
        ]),
      ],
      {},
    );
    expect(checks.every((check) => check.target === 'ccs')).toBe(true);
    expect(checks.filter((check) => !check.passed).map((check) => check.metric)).toEqual([
      'delivery.lost',
    ]);
  });

  test('--max-p99 and the other limits are checked against CCS runs', () => {
    const checks = thresholdChecks([scenario('chat-fanout', [run('ccs')])], {
      maxP99Ms: 10,
      maxConnectP99Ms: 25,
      minConnectsPerSec: 2_000,
    });
    const failed = checks.filter((check) => !check.passed).map((check) => check.metric);
    expect(failed).toEqual(['sendToReceive.p99Ms', 'connections.perSec']);
  });

  test('the bench compares CCS with bare socket.io of the same run', () => {
    const ccs = run('ccs', {
      connections: { ...run('ccs').connections, perSec: 1_268 },
      servers: [{ ...run('ccs').servers[0]!, rssPerConnectionBytes: 18_000 }],
    });
    const bare = run('bare', {
      connections: { ...run('bare').connections, perSec: 2_502 },
      servers: [{ ...run('bare').servers[0]!, rssPerConnectionBytes: 15_000 }],
    });
    const checks = suiteChecks([scenario('connection-storm', [ccs, bare])]);
    const byMetric = new Map(checks.map((check) => [check.metric, check]));
    expect(byMetric.get('rssPerConnectionBytes ÷ bare')).toMatchObject({
      actual: 1.2,
      passed: true,
    });
    expect(byMetric.get('connections.perSec ÷ bare')).toMatchObject({
      actual: 0.507,
      passed: false,
    });
  });
});
