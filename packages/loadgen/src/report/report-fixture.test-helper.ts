/**
 * A realistic {@link LoadReport} for the renderers' tests: two scenarios (a fan-out and a
 * reconnect storm) against the four targets, ~30-point timelines, histograms shaped like real
 * latency (log-normal), and one failed check. Deterministic: the same report on every call.
 */
import type {
  HistogramBucket,
  LatencyDistribution,
  LoadReport,
  ScenarioResult,
  ServerUsage,
  TargetName,
  TargetRun,
  ThresholdCheck,
  TimelinePoint,
} from './load-report.js';

/** mulberry32: a small seeded PRNG, so the fixture is the same every run. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The standard normal CDF (Abramowitz–Stegun 7.1.26 erf). */
function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erf =
    1 -
    ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) *
      t *
      Math.exp(-x * x);
  return z >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}

const round3 = (value: number): number => Number(value.toPrecision(3));

/**
 * A log-normal latency distribution with the given median and p99, as HDR would report it, with
 * buckets growing by √2 from 0.125 ms.
 */
export function logNormalDistribution(
  p50Ms: number,
  p99Ms: number,
  count: number,
): LatencyDistribution {
  const sigma = Math.log(p99Ms / p50Ms) / 2.326;
  const at = (z: number): number => round3(p50Ms * Math.exp(sigma * z));
  const maxMs = at(3.7);
  const buckets: HistogramBucket[] = [];
  let below = 0;
  for (let step = 0; ; step += 1) {
    const upToMs = round3(0.125 * 2 ** (step / 2));
    const last = upToMs >= maxMs;
    const cumulative = last
      ? count
      : Math.round(count * normalCdf((Math.log(upToMs) - Math.log(p50Ms)) / sigma));
    buckets.push({ upToMs, count: cumulative - below });
    below = cumulative;
    if (last) break;
  }
  return {
    count,
    meanMs: round3(p50Ms * Math.exp((sigma * sigma) / 2)),
    p50Ms: round3(p50Ms),
    p90Ms: at(1.2816),
    p99Ms: round3(p99Ms),
    p999Ms: at(3.09),
    maxMs,
    buckets,
  };
}

/** Per-second latency of a run: noise around p50/p99, and `spike` multiplying some seconds. */
function timeline(
  seed: number,
  seconds: number,
  perSec: number,
  p50Ms: number,
  p99Ms: number,
  spike: (atSec: number) => number = () => 1,
): TimelinePoint[] {
  const next = random(seed);
  return Array.from({ length: seconds }, (_, index) => {
    const atSec = index + 1;
    const factor = spike(atSec);
    const jitter = next() < 0.08 ? 1.6 + next() : 1;
    return {
      atSec,
      count: Math.round(perSec * (0.97 + 0.06 * next())),
      p50Ms: round3(p50Ms * factor * (0.92 + 0.16 * next())),
      p99Ms: round3(p99Ms * factor * jitter * (0.85 + 0.3 * next())),
    };
  });
}

function server(
  peakRssMb: number,
  rssPerConnectionKb: number,
  cpuCores: number,
  lagP99Ms: number,
): ServerUsage {
  return {
    peakRssBytes: Math.round(peakRssMb * 1024 * 1024),
    rssPerConnectionBytes: Math.round(rssPerConnectionKb * 1024),
    cpuCores,
    eventLoopLagP99Ms: lagP99Ms,
    eventLoopLagMaxMs: round3(lagP99Ms * 2.7),
    eventLoopUtilization: Math.min(0.97, round3(cpuCores / 2.1)),
  };
}

interface Profile {
  readonly target: TargetName;
  readonly connectsPerSec: number;
  readonly connectP50Ms: number;
  readonly connectP99Ms: number;
  readonly subscribeP99Ms: number;
  readonly ackP50Ms: number;
  readonly ackP99Ms: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly commitP99Ms: number;
  readonly server: ServerUsage;
}

const FANOUT_PROFILES: readonly Profile[] = [
  {
    target: 'ccs',
    connectsPerSec: 478,
    connectP50Ms: 9.4,
    connectP99Ms: 38.2,
    subscribeP99Ms: 21.5,
    ackP50Ms: 4.12,
    ackP99Ms: 15.3,
    p50Ms: 6.84,
    p99Ms: 24.1,
    commitP99Ms: 11.2,
    server: server(412, 41.3, 1.62, 12.4),
  },
  {
    target: 'bare',
    connectsPerSec: 771,
    connectP50Ms: 3.1,
    connectP99Ms: 12.6,
    subscribeP99Ms: 4.8,
    ackP50Ms: 1.08,
    ackP99Ms: 4.02,
    p50Ms: 1.91,
    p99Ms: 7.48,
    commitP99Ms: 6.9,
    server: server(176, 18.2, 0.91, 4.1),
  },
  {
    target: 'postgres-adapter',
    connectsPerSec: 702,
    connectP50Ms: 3.6,
    connectP99Ms: 15.1,
    subscribeP99Ms: 5.9,
    ackP50Ms: 1.31,
    ackP99Ms: 5.6,
    p50Ms: 9.52,
    p99Ms: 47.8,
    commitP99Ms: 44.9,
    server: server(231, 22.4, 1.34, 17.9),
  },
  {
    target: 'redis-streams',
    connectsPerSec: 655,
    connectP50Ms: 4.2,
    connectP99Ms: 17.4,
    subscribeP99Ms: 6.3,
    ackP50Ms: 1.22,
    ackP99Ms: 5.1,
    p50Ms: 3.38,
    p99Ms: 14.2,
    commitP99Ms: 12.8,
    server: server(214, 20.9, 1.12, 7.2),
  },
];

const FANOUT = {
  connections: 6000,
  sendsPerSec: 400,
  receiversPerSend: 29,
  seconds: 30,
};

function fanoutRun(profile: Profile, index: number): TargetRun {
  const { connections, sendsPerSec, receiversPerSend, seconds } = FANOUT;
  const sends = sendsPerSec * seconds;
  const expected = sends * receiversPerSend;
  const deliveriesPerSec = sendsPerSec * receiversPerSend;
  const failed = profile.target === 'postgres-adapter' ? 3 : 0;
  return {
    target: profile.target,
    durationSec: round3(connections / profile.connectsPerSec + seconds + 2.4),
    connections: {
      attempted: connections,
      succeeded: connections - failed,
      failed,
      perSec: profile.connectsPerSec,
      connectTime: logNormalDistribution(
        profile.connectP50Ms,
        profile.connectP99Ms,
        connections - failed,
      ),
      failures: failed > 0 ? ['timeout (after 10000 ms)'] : [],
    },
    subscribes: {
      attempted: 6000,
      failed: 0,
      perSec: round3(profile.connectsPerSec * 3.9),
      latency: logNormalDistribution(profile.subscribeP99Ms / 4, profile.subscribeP99Ms, 6000),
    },
    sendToAck: logNormalDistribution(profile.ackP50Ms, profile.ackP99Ms, sends),
    sendToReceive: logNormalDistribution(profile.p50Ms, profile.p99Ms, expected),
    commitToReceive: logNormalDistribution(profile.p50Ms * 0.8, profile.commitP99Ms, expected),
    timeline: timeline(101 + index, seconds, deliveriesPerSec, profile.p50Ms, profile.p99Ms),
    sendsPerSec,
    deliveriesPerSec: round3(deliveriesPerSec * 0.998),
    delivery: { expected, received: expected, lost: 0, duplicated: 0, outOfOrder: 0 },
    disconnects: profile.target === 'postgres-adapter' ? { 'transport close': 3 } : {},
    servers: [profile.server],
    clientCpuCores: 2.35,
    notes:
      profile.target === 'postgres-adapter'
        ? ['3 sockets timed out while connecting; their devices were left out of the fan-out.']
        : [],
  };
}

const STORM = { connections: 5000, dropped: 1000, seconds: 30, sendsPerSec: 100, receivers: 9 };

/** The reconnect storm: what the dropped clients missed and how they came back. */
function stormRun(profile: Profile, index: number): TargetRun {
  const { connections, dropped, seconds, sendsPerSec, receivers } = STORM;
  const expected = sendsPerSec * seconds * receivers;
  const recovers = profile.target === 'ccs' || profile.target === 'redis-streams';
  const resumed = profile.target === 'ccs' ? dropped : profile.target === 'redis-streams' ? 982 : 0;
  const lost =
    profile.target === 'ccs'
      ? 0
      : profile.target === 'redis-streams'
        ? 161
        : profile.target === 'bare'
          ? 2312
          : 2274;
  const stormSpike = (atSec: number): number =>
    atSec >= 10 && atSec <= 13 ? (profile.target === 'ccs' ? 7.5 : 4) - (atSec - 10) : 1;
  const p50Ms = profile.p50Ms * 1.4;
  const p99Ms = profile.target === 'ccs' ? 180 : profile.p99Ms * 3.1;
  return {
    target: profile.target,
    durationSec: round3(connections / profile.connectsPerSec + seconds + 4.1),
    connections: {
      attempted: connections + dropped,
      succeeded: connections + dropped,
      failed: 0,
      perSec: profile.connectsPerSec,
      connectTime: logNormalDistribution(
        profile.connectP50Ms * 1.2,
        profile.connectP99Ms * 2,
        connections + dropped,
      ),
      failures: [],
    },
    subscribes: {
      attempted: connections + dropped,
      failed: 0,
      perSec: round3(profile.connectsPerSec * 3.2),
      latency: logNormalDistribution(
        profile.subscribeP99Ms / 3,
        profile.subscribeP99Ms * 2.2,
        connections + dropped,
      ),
    },
    sendToAck: logNormalDistribution(profile.ackP50Ms * 1.3, profile.ackP99Ms * 2.4, 3000),
    sendToReceive: logNormalDistribution(p50Ms, p99Ms, expected - lost),
    commitToReceive: logNormalDistribution(p50Ms * 0.8, profile.commitP99Ms * 3, expected - lost),
    timeline: timeline(
      201 + index,
      seconds,
      sendsPerSec * receivers,
      p50Ms,
      p99Ms * 0.6,
      stormSpike,
    ),
    sendsPerSec,
    deliveriesPerSec: round3(((expected - lost) / seconds) * 0.99),
    delivery: { expected, received: expected - lost, lost, duplicated: 0, outOfOrder: 0 },
    disconnects:
      profile.target === 'bare'
        ? { 'transport close': dropped, 'ping timeout': 4 }
        : { 'transport close': dropped },
    ...(recovers && {
      resume: {
        dropped,
        resumed,
        reconnect: logNormalDistribution(900, 2400, resumed),
        time:
          profile.target === 'ccs'
            ? logNormalDistribution(412, 1840, resumed)
            : logNormalDistribution(188, 620, resumed),
      },
    }),
    // Two gateways: one server process each.
    servers:
      profile.target === 'ccs'
        ? [server(296, 43.8, 1.41, 31.5), server(288, 42.9, 1.37, 28.2)]
        : [profile.server, { ...profile.server, peakRssBytes: profile.server.peakRssBytes * 0.96 }],
    clientCpuCores: 1.72,
    notes:
      profile.target === 'redis-streams'
        ? ['18 clients reconnected after maxDisconnectionDuration (2 min) and were not recovered.']
        : profile.target === 'bare' || profile.target === 'postgres-adapter'
          ? ['No connection state recovery: the dropped clients miss what was sent while away.']
          : [],
  };
}

const SCENARIOS: readonly ScenarioResult[] = [
  {
    scenario: 'fanout',
    description:
      '2,000 users with 3 devices each join 200 conversations of 30 devices; 400 sends/s for 30 s, ' +
      'each delivered to the 29 other devices of its conversation.',
    settings: {
      users: 2000,
      devicesPerUser: 3,
      conversations: 200,
      sendsPerSec: 400,
      loadSec: 30,
      payloadBytes: 512,
      rampPerSec: 500,
      ackRequired: true,
    },
    runs: FANOUT_PROFILES.map(fanoutRun),
  },
  {
    scenario: 'reconnect-storm',
    description:
      '5,000 devices in 500 streams; at 10 s, 1,000 sockets are cut and reconnect at once while ' +
      '100 sends/s go on. Measures how fast they resume and whether the gap is filled.',
    settings: {
      devices: 5000,
      streams: 500,
      dropped: 1000,
      dropAtSec: 10,
      sendsPerSec: 100,
      loadSec: 30,
      gateways: 2,
      transport: 'websocket',
    },
    runs: FANOUT_PROFILES.map(stormRun),
  },
];

const CHECKS: readonly ThresholdCheck[] = [
  {
    scenario: 'fanout',
    target: 'ccs',
    metric: 'sendToReceive.p99Ms',
    actual: 24.1,
    limit: 50,
    comparator: '<=',
    passed: true,
  },
  {
    scenario: 'fanout',
    target: 'ccs',
    metric: 'connections.perSec ÷ bare',
    actual: 0.62,
    limit: 0.5,
    comparator: '>=',
    passed: true,
  },
  {
    scenario: 'fanout',
    target: 'ccs',
    metric: 'delivery.lost',
    actual: 0,
    limit: 0,
    comparator: '<=',
    passed: true,
  },
  {
    scenario: 'fanout',
    target: 'ccs',
    metric: 'servers.rssPerConnectionBytes',
    actual: 42291,
    limit: 65536,
    comparator: '<=',
    passed: true,
  },
  {
    scenario: 'reconnect-storm',
    target: 'ccs',
    metric: 'resume.time.p99Ms',
    actual: 1840,
    limit: 1500,
    comparator: '<=',
    passed: false,
  },
  {
    scenario: 'reconnect-storm',
    target: 'ccs',
    metric: 'delivery.lost',
    actual: 0,
    limit: 0,
    comparator: '<=',
    passed: true,
  },
  {
    scenario: 'reconnect-storm',
    target: 'ccs',
    metric: 'sendToReceive.p99Ms',
    actual: 180,
    limit: 250,
    comparator: '<=',
    passed: true,
  },
];

/** The sample report: two scenarios × four targets, one failed check (so `passed` is false). */
export function buildSampleReport(): LoadReport {
  return {
    tool: 'ccs-load',
    startedAt: '2025-03-14T09:26:53.412Z',
    finishedAt: '2025-03-14T09:31:40.907Z',
    command:
      'ccs-load suite --scenarios fanout,reconnect-storm --targets ccs,bare,postgres-adapter,redis-streams --out bench-results/loadgen.json --html bench-results/loadgen.html',
    machine: {
      cpuModel: 'AMD EPYC 7B13 64-Core Processor',
      cores: 8,
      memoryBytes: 32 * 1024 ** 3,
      node: 'v20.19.2',
      postgres: '16.4',
      openFileLimit: 1048576,
      platform: 'linux x64 (6.1.0-28-cloud-amd64)',
    },
    scenarios: SCENARIOS,
    checks: CHECKS,
    passed: false,
  };
}

/** `report` with every run of every scenario changed by `change`. */
export function mapRuns(
  report: LoadReport,
  change: (run: TargetRun, scenario: ScenarioResult) => TargetRun,
): LoadReport {
  return {
    ...report,
    scenarios: report.scenarios.map((scenario) => ({
      ...scenario,
      runs: scenario.runs.map((run) => change(run, scenario)),
    })),
  };
}
