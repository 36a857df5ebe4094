import { setTimeout as sleep } from 'node:timers/promises';
import { conversationWithMembers } from '@ccs/fixtures';
import { BenchChild } from './bench-child.js';
import { MachineCpu, PostgresCpu, processCores } from './cpu.js';
import type { BenchEnv } from './bench-env.js';
import {
  NormalSubscriber,
  streamHead,
  writeMessages,
  type SubscriberDelivery,
  type WriterResult,
} from './deliveries.js';
import { delta } from './flood-scenario.js';
import type { CrowdConfig, CrowdSocketResult } from './ipc.js';
import { Latencies, round, type LatencySummary } from './latency.js';
import {
  serverLoad,
  MetricsScrape,
  ReadyzPoller,
  RssSampler,
  serverHealth,
  type ServerLoad,
  type ReadyzSummary,
  type RssSummary,
  type ServerHealth,
} from './server-probe.js';
import { connectSocket, subscribe } from './sockets.js';

/** Settings of the slow-consumer scenario. */
export interface SlowOptions {
  readonly crowdSockets: number;
  readonly normalSubscribers: number;
  readonly writesPerSec: number;
  readonly writeMs: number;
  readonly bodyChars: number;
  /** After the last write: time for the normal subscribers to catch up and the server to settle. */
  readonly settleMs: number;
  /** How long the crowd reads (resumed) at the end before it reports. */
  readonly finishReadMs: number;
  readonly readyzEveryMs: number;
  readonly rssEveryMs: number;
  readonly stepTimeoutMs: number;
}

/** One run of the slow-consumer scenario (crowd paused, or reading). */
export interface SlowRun extends ServerLoad {
  readonly crowdPaused: boolean;
  readonly writer: WriterResult;
  readonly normalSubscribers: readonly SubscriberDelivery[];
  /** Every normal subscriber's deliveries together: `committedAt` → receipt. */
  readonly deliveryLatency: LatencySummary;
  readonly allNormalComplete: boolean;
  readonly crowd: {
    readonly sockets: number;
    readonly subscribed: number;
    /** `ccs_sessions_ended_total{reason="slow_consumer"}` increments over the run. */
    readonly droppedSlowConsumer: number;
    /** Crowd sockets that read `session_ended {reason: 'slow_consumer'}` once resumed. */
    readonly sawSessionEnded: number;
    readonly disconnectedByServer: number;
    /** Changes each crowd socket received, in order of socket (before and after the resume). */
    readonly changesReceived: readonly number[];
    /** WebSocket close code each crowd socket saw by the end (null: still open). */
    readonly closeCodes: readonly (number | null)[];
  };
  /** `ccs_connected_sockets` once the run settled (normal subscribers + crowd not dropped). */
  readonly connectedSocketsAtEnd: number;
  readonly sessionsEnded: Readonly<Record<string, number>>;
  readonly rss: RssSummary;
  /** Cores used over the window: the whole machine, the crowd process, the bench runner. */
  readonly cpuCores: {
    readonly machine: number;
    readonly server: number;
    readonly crowd: number;
    readonly benchRunner: number;
    /** Backends of the bench database. */
    readonly postgres: number;
    /** machine − the above: Redis, the kernel, and processes that are not the bench's. */
    readonly others: number;
  };
  readonly readyz: ReadyzSummary;
  readonly server: ServerHealth;
}

export async function runSlowScenario(
  env: BenchEnv,
  options: SlowOptions,
  crowdPaused: boolean,
  log: (line: string) => void,
): Promise<SlowRun> {
  const { db, pool } = env.database;
  const crowdUsers = Math.ceil(options.crowdSockets / 2);
  const scenario = await conversationWithMembers(db, {
    devicesPerMember: [1, options.normalSubscribers, ...Array<number>(crowdUsers).fill(2)],
    jwtSecret: env.jwtSecret,
  });
  const writerDevice = scenario.members[0]!.devices[0]!;
  const normalDevices = scenario.members[1]!.devices;
  const crowdTokens = scenario.members
    .slice(2)
    .flatMap((member) => member.devices.map((device) => device.token))
    .slice(0, options.crowdSockets);

  const server = await env.startServer();
  const logFrom = server.output.length;
  const normal: NormalSubscriber[] = [];
  let crowd: BenchChild | undefined;
  try {
    for (const device of normalDevices) {
      const socket = await connectSocket(server.url, device.token, options.stepTimeoutMs);
      const subscriber = new NormalSubscriber(socket);
      normal.push(subscriber);
      subscriber.head = await subscribe(socket, scenario.stream, options.stepTimeoutMs);
    }
    const crowdConfig: CrowdConfig = {
      url: server.url,
      tokens: crowdTokens,
      stream: scenario.stream,
      mode: crowdPaused ? 'pause' : 'read',
      finishReadMs: options.finishReadMs,
    };
    crowd = BenchChild.start(new URL('./crowd.ts', import.meta.url), crowdConfig);
    const ready = await crowd.next('ready', 60_000);
    if (ready.errors.length)
      log(`crowd: ${ready.errors.length} sockets failed: ${ready.errors[0]}`);

    const before = await MetricsScrape.take(server.url);
    const rss = new RssSampler(server.pid, options.rssEveryMs);
    const readyz = new ReadyzPoller(server.url, options.readyzEveryMs);
    const machine = await MachineCpu.start();
    const postgresCpu = await PostgresCpu.start(pool);
    const runnerCpu = process.cpuUsage();
    const windowStart = performance.now();
    const writer = await writeMessages(pool, {
      conversationId: scenario.conversation.id,
      authorId: writerDevice.userId,
      deviceId: writerDevice.id,
      perSec: options.writesPerSec,
      durationMs: options.writeMs,
      bodyChars: options.bodyChars,
    });
    const lastWrite = performance.now();
    const head = await streamHead(pool, scenario.stream);
    const until = lastWrite + options.settleMs;
    while (performance.now() < until && !normal.every((s) => s.lastSeq >= head)) await sleep(20);
    await sleep(Math.max(0, until - performance.now()));
    const windowSeconds = (performance.now() - windowStart) / 1000;
    const after = await MetricsScrape.take(server.url);
    const machineCores = await machine.busyCores();
    const postgresCores = await postgresCpu.cores();
    const runnerCores = processCores(runnerCpu, windowSeconds * 1000);
    const load = serverLoad(before, after, windowSeconds);
    const serverCores = load.serverCpuCores;
    const [rssSummary, readyzSummary] = await Promise.all([rss.stop(), readyz.stop()]);

    crowd.send({ kind: 'finish' });
    const crowdResult = await crowd.next('crowd-result', options.finishReadMs + 30_000);
    const crowdSockets: readonly CrowdSocketResult[] = crowdResult.sockets;

    const latency = new Latencies();
    for (const subscriber of normal) latency.add(subscriber.latency);
    const deliveries = normal.map((subscriber) => subscriber.delivery(head));
    const run: SlowRun = {
      crowdPaused,
      writer,
      normalSubscribers: deliveries,
      deliveryLatency: latency.summary(),
      allNormalComplete: deliveries.every((delivery) => delivery.complete),
      crowd: {
        sockets: crowdTokens.length,
        subscribed: ready.connected,
        droppedSlowConsumer:
          after.get('ccs_sessions_ended_total', { reason: 'slow_consumer' }) -
          before.get('ccs_sessions_ended_total', { reason: 'slow_consumer' }),
        sawSessionEnded: crowdSockets.filter((s) => s.sessionEnded === 'slow_consumer').length,
        disconnectedByServer: crowdSockets.filter((s) => s.disconnectedByServer).length,
        changesReceived: crowdSockets.map((s) => s.changes),
        closeCodes: crowdSockets.map((s) => s.closeCode),
      },
      connectedSocketsAtEnd: after.get('ccs_connected_sockets'),
      sessionsEnded: delta(
        before.series('ccs_sessions_ended_total'),
        after.series('ccs_sessions_ended_total'),
      ),
      rss: rssSummary,
      ...load,
      cpuCores: {
        machine: machineCores,
        server: serverCores,
        crowd: crowdResult.cpuCores,
        benchRunner: runnerCores,
        postgres: postgresCores,
        others: round(
          machineCores - serverCores - crowdResult.cpuCores - runnerCores - postgresCores,
          2,
        ),
      },
      readyz: readyzSummary,
      server: serverHealth(server, logFrom),
    };
    log(
      `slow consumers ${crowdPaused ? 'abuse' : 'baseline'}: wrote ${writer.committed}, ` +
        `normal complete ${run.allNormalComplete}, p99 ${run.deliveryLatency.p99Ms} ms, ` +
        `dropped ${run.crowd.droppedSlowConsumer}, peak RSS ${rssSummary.peakMiB} MiB`,
    );
    return run;
  } finally {
    for (const subscriber of normal) subscriber.socket.disconnect();
    await crowd?.close();
    await server.stop(10_000);
  }
}
