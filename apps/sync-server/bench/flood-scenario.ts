import { setTimeout as sleep } from 'node:timers/promises';
import { conversationWithMembers } from '@ccs/fixtures';
import { BenchChild } from './bench-child.js';
import { MachineCpu, PostgresCpu, processCores } from './cpu.js';
import type { BenchEnv } from './bench-env.js';
import type { FloodConfig, FloodResult } from './ipc.js';
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
import { connectSocket, StepError, subscribe } from './sockets.js';
import {
  NormalSubscriber,
  streamHead,
  writeMessages,
  type SubscriberDelivery,
  type WriterResult,
} from './deliveries.js';

/** Settings of the flood scenario. */
export interface FloodOptions {
  /** Connect → subscribe → disconnect cycles of the other user, one at a time. */
  readonly cycles: number;
  /** The cycles are spread evenly over this window (none starts after it ends). */
  readonly windowMs: number;
  /** The flood runs this long before the first cycle. */
  readonly leadMs: number;
  readonly maxSends: number;
  /** Hard cap of the flood's duration (it is stopped when the cycles end anyway). */
  readonly floodMaxMs: number;
  /** Sends the flooder keeps waiting for their ack, at most. */
  readonly pipeline: number;
  readonly bodyChars: number;
  /** Scheduling priority of the flooder process: 19 leaves the CPU to the server first. */
  readonly flooderNice: number;
  readonly readyzEveryMs: number;
  readonly rssEveryMs: number;
  readonly stepTimeoutMs: number;
  /**
   * Messages per second written with SQL into the other user's conversation during the flood,
   * to a subscriber that stays connected (a bystander's deliveries).
   */
  readonly bystanderWritesPerSec: number;
  readonly bystanderBodyChars: number;
}

/** One run of the flood scenario (with or without the flooder). */
export interface FloodRun extends ServerLoad {
  readonly withFlooder: boolean;
  readonly cycles: {
    readonly planned: number;
    readonly completed: number;
    /** `io()` → `connect` (WebSocket, handshake, auth middleware with its database read). */
    readonly connect: LatencySummary;
    /** `subscribe` emit → ack (membership and head read, relay attach). */
    readonly subscribe: LatencySummary;
    readonly failures: Readonly<Record<string, number>>;
    readonly firstFailure: string | null;
    readonly elapsedMs: number;
  };
  readonly readyz: ReadyzSummary;
  /**
   * Cores used over the window: by the whole machine, the flooder process, and the bench
   * runner (the other user's sockets, /readyz polls). The rest is PostgreSQL, Redis and others.
   */
  readonly cpuCores: {
    readonly machine: number;
    readonly server: number;
    readonly flooder: number | null;
    readonly benchRunner: number;
    /** Backends of the bench database. */
    readonly postgres: number;
    /** machine − the above: Redis, the kernel, and processes that are not the bench's. */
    readonly others: number;
  };
  readonly rss: RssSummary;
  readonly flood: FloodResult | null;
  /** `messages` rows of the flooder's device after the run. */
  readonly floodRowsWritten: number;
  /** `ccs_client_events_rejected_total` increments over the run, by labels. */
  readonly clientEventsRejected: Readonly<Record<string, number>>;
  readonly handshakesRefused: Readonly<Record<string, number>>;
  /**
   * A subscriber of the other user's conversation, connected throughout, and what it got of the
   * messages written there during the window: `committedAt` → receipt.
   */
  readonly bystander: {
    readonly writer: WriterResult;
    readonly delivery: SubscriberDelivery;
    readonly latency: LatencySummary;
  };
  readonly server: ServerHealth;
}

export async function runFloodScenario(
  env: BenchEnv,
  options: FloodOptions,
  withFlooder: boolean,
  log: (line: string) => void,
): Promise<FloodRun> {
  const { db, pool } = env.database;
  const flooderSide = await conversationWithMembers(db, {
    members: 1,
    devicesPerMember: 1,
    jwtSecret: env.jwtSecret,
  });
  // The other user: sixteen devices taken in turn, so that each connects less than once a second
  // (the per-device handshake rate) and a socket the server has not yet counted as gone never
  // makes the next connect exceed the per-device socket limit.
  const otherSide = await conversationWithMembers(db, {
    devicesPerMember: [16, 1],
    jwtSecret: env.jwtSecret,
  });
  const flooderDevice = flooderSide.members[0]!.devices[0]!;
  const otherDevices = otherSide.members[0]!.devices;
  const bystanderDevice = otherSide.members[1]!.devices[0]!;

  const server = await env.startServer();
  const logFrom = server.output.length;
  let flooder: BenchChild | undefined;
  let bystander: NormalSubscriber | undefined;
  try {
    bystander = new NormalSubscriber(
      await connectSocket(server.url, bystanderDevice.token, options.stepTimeoutMs),
    );
    bystander.head = await subscribe(bystander.socket, otherSide.stream, options.stepTimeoutMs);
    if (withFlooder) {
      const config: FloodConfig = {
        url: server.url,
        token: flooderDevice.token,
        conversationId: flooderSide.conversation.id,
        maxSends: options.maxSends,
        maxMs: options.floodMaxMs,
        window: options.pipeline,
        bodyChars: options.bodyChars,
        drainMs: 5000,
      };
      flooder = BenchChild.start(
        new URL('./flooder.ts', import.meta.url),
        config,
        options.flooderNice,
      );
      await flooder.next('ready', 30_000);
    }
    const before = await MetricsScrape.take(server.url); // also resets the event-loop histogram
    const rss = new RssSampler(server.pid, options.rssEveryMs);
    const readyz = new ReadyzPoller(server.url, options.readyzEveryMs);
    const machine = await MachineCpu.start();
    const postgresCpu = await PostgresCpu.start(pool);
    const runnerCpu = process.cpuUsage();
    const windowStart = performance.now();
    flooder?.send({ kind: 'go' });
    const writing = writeMessages(pool, {
      conversationId: otherSide.conversation.id,
      authorId: bystanderDevice.userId,
      deviceId: bystanderDevice.id,
      perSec: options.bystanderWritesPerSec,
      durationMs: options.leadMs + options.windowMs,
      bodyChars: options.bystanderBodyChars,
    });
    await sleep(options.leadMs);

    const connect = new Latencies();
    const subscribeLatency = new Latencies();
    const failures: Record<string, number> = {};
    let firstFailure: string | null = null;
    let completed = 0;
    const interval = options.windowMs / options.cycles;
    const cyclesStart = performance.now();
    for (let index = 0; index < options.cycles; index++) {
      const due = cyclesStart + index * interval;
      if (due > cyclesStart + options.windowMs) break;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      if (performance.now() > cyclesStart + options.windowMs) break;
      const device = otherDevices[index % otherDevices.length]!;
      const started = performance.now();
      let socket;
      try {
        socket = await connectSocket(server.url, device.token, options.stepTimeoutMs);
        connect.recordMs(performance.now() - started);
        const subscribing = performance.now();
        await subscribe(socket, otherSide.stream, options.stepTimeoutMs);
        subscribeLatency.recordMs(performance.now() - subscribing);
        completed++;
      } catch (error) {
        const key = error instanceof StepError ? `${error.step}:${error.code}` : 'other';
        failures[key] = (failures[key] ?? 0) + 1;
        firstFailure ??= (error as Error).message;
      } finally {
        socket?.disconnect();
      }
    }
    const cyclesElapsed = performance.now() - cyclesStart;
    const written = await writing;

    flooder?.send({ kind: 'stop' });
    const flood = flooder ? (await flooder.next('flood-result', 30_000)).result : null;
    const head = await streamHead(pool, otherSide.stream);
    const caughtUpBy = performance.now() + 5000;
    while (bystander.lastSeq < head && performance.now() < caughtUpBy) await sleep(20);
    const windowSeconds = (performance.now() - windowStart) / 1000;
    const after = await MetricsScrape.take(server.url);
    const machineCores = await machine.busyCores();
    const postgresCores = await postgresCpu.cores();
    const runnerCores = processCores(runnerCpu, windowSeconds * 1000);
    const load = serverLoad(before, after, windowSeconds);
    const serverCores = load.serverCpuCores;
    const [rssSummary, readyzSummary] = await Promise.all([rss.stop(), readyz.stop()]);
    const rows = await pool.query<{ n: string }>(
      'SELECT count(*) AS n FROM messages WHERE device_id = $1',
      [flooderDevice.id],
    );
    const run: FloodRun = {
      withFlooder,
      cycles: {
        planned: options.cycles,
        completed,
        connect: connect.summary(),
        subscribe: subscribeLatency.summary(),
        failures,
        firstFailure,
        elapsedMs: Math.round(cyclesElapsed),
      },
      readyz: readyzSummary,
      ...load,
      cpuCores: {
        machine: machineCores,
        server: serverCores,
        flooder: flood?.cpuCores ?? null,
        benchRunner: runnerCores,
        postgres: postgresCores,
        others: round(
          machineCores - serverCores - (flood?.cpuCores ?? 0) - runnerCores - postgresCores,
          2,
        ),
      },
      rss: rssSummary,
      flood,
      floodRowsWritten: Number(rows.rows[0]!.n),
      clientEventsRejected: delta(
        before.series('ccs_client_events_rejected_total'),
        after.series('ccs_client_events_rejected_total'),
      ),
      handshakesRefused: delta(
        before.series('ccs_handshakes_refused_total'),
        after.series('ccs_handshakes_refused_total'),
      ),
      bystander: {
        writer: written,
        delivery: bystander.delivery(head),
        latency: bystander.latency.summary(),
      },
      server: serverHealth(server, logFrom),
    };
    log(
      `flood ${withFlooder ? 'abuse' : 'baseline'}: ${completed}/${options.cycles} cycles, ` +
        `connect p99 ${run.cycles.connect.p99Ms} ms, subscribe p99 ${run.cycles.subscribe.p99Ms} ms, ` +
        `readyz non-200 ${readyzSummary.non200}/${readyzSummary.polls}` +
        (flood ? `, flood sent ${flood.sent} (ok ${flood.acks.ok})` : ''),
    );
    return run;
  } finally {
    bystander?.socket.disconnect();
    await flooder?.close();
    await server.stop(10_000);
  }
}

/** after − before per series, leaving out series that did not move. */
export function delta(
  before: Readonly<Record<string, number>>,
  after: Readonly<Record<string, number>>,
): Record<string, number> {
  const moved: Record<string, number> = {};
  for (const [key, value] of Object.entries(after)) {
    const change = value - (before[key] ?? 0);
    if (change !== 0) moved[key] = change;
  }
  return moved;
}
