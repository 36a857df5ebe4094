import { setTimeout as sleep } from 'node:timers/promises';
import { LatencyHistogram } from '@ccs/test-clients';
import type { ChildLink } from '../ipc/child-link.js';
import type { CpuSampler, CpuUsage } from '../measure/cpu-sampler.js';
import { nowMicros } from '../measure/message-body.js';
import type { WaitEventSampler, WaitEventShares } from '../measure/wait-event-sampler.js';
import type { BenchConversation } from './bench-directory.js';
import type {
  AckCounts,
  ClientWorkerCalls,
  LoadMode,
  LoadSent,
  ServerCalls,
  ServerPhaseStats,
} from './bench-ipc.js';
import { latencySummary, type LatencySummary } from './latency-summary.js';
import type { CommitMode, MessageWriter } from './message-writer.js';
import type { OtlpReceiver } from './otlp-receiver.js';

/** The processes and generators a phase drives. */
export interface BenchRig {
  readonly server: ChildLink<ServerCalls>;
  readonly clients: readonly ChildLink<ClientWorkerCalls>[];
  readonly writer: MessageWriter;
  readonly conversations: readonly BenchConversation[];
  readonly bodyBytes: number;
  /** Tick of the CCS writer (see MessageWriter). */
  readonly writerTickMs: number;
  readonly cpu: CpuSampler;
  readonly waits: WaitEventSampler;
  /** Give up waiting for the tail once nothing new arrived for this long. */
  readonly drainStallMs: number;
  /**
   * A phase during which other processes kept more than `maxOtherCores` busy is run again;
   * `retries` is the budget of the whole run, so a machine that stays busy cannot stretch it
   * much. The last attempt is kept either way (its `cpuCores.other` shows it).
   */
  readonly busyRetry: { readonly maxOtherCores: number; readonly retries: number };
  /** Where a traced gateway exports its spans. */
  readonly otlp: OtlpReceiver;
  readonly log: (line: string) => void;
}

/** What the devices reported (`changes:received`) while a phase ran, when they did. */
export interface DeviceAckStats {
  /** Reports sent per second, all devices together. */
  readonly sentPerSec: number;
}

/** What a traced gateway made and exported while a phase's load ran. */
export interface TracingStats {
  /** Spans ended per second. */
  readonly spansPerSec: number;
  /** Spans handed to the exporter per second (fewer: buffered, or dropped by a full queue). */
  readonly exportedSpansPerSec: number;
  /** OTLP/HTTP requests the receiver took per second, and their body bytes per second. */
  readonly exportsPerSec: number;
  readonly exportBytesPerSec: number;
}

/**
 * One measured load, as the report shows it. Latency (`p50Ms` …) runs from the send (INSERT
 * issued, emit called) to the receipt.
 */
export interface PhaseResult extends LatencySummary {
  /**
   * Send → receive of every delivery, µs, a `LatencyHistogram` encoded: phases run alike (the
   * overhead rounds) are pooled from it.
   */
  readonly latencyHistogram: string;
  readonly deliveriesPerSec: number;
  readonly lost: number;
  readonly duplicated: number;
  /** Deliveries whose seq was below one the same client already had of that stream. */
  readonly outOfOrder: number;
  /**
   * `resync_required` events the clients received during the phase: the gateway gave up on a
   * stream (a gap, a slow consumer), which the bench never expects.
   */
  readonly resyncs: number;
  /**
   * Deliveries of earlier phases that arrived after their phase was reported: counted as lost
   * there, so a loss matched by late deliveries here was a stall longer than the drain waits.
   */
  readonly lateDeliveries: number;
  /** The change's `committedAt` → receipt (bare: the emit time → receipt). */
  readonly commitToReceive: LatencySummary;
  readonly offeredWritesPerSec: number;
  /** Writes (CCS: committed INSERT rows; bare: emits) per second actually achieved. */
  readonly writesPerSec: number;
  readonly expectedDeliveries: number;
  readonly receivedDeliveries: number;
  /**
   * Subscribers of the streams written that received nothing of the phase: with `lost`, tells
   * devices that got nothing from changes nobody got.
   */
  readonly silentClients: number;
  /** From the first write to the last delivery. */
  readonly durationSec: number;
  /** From the last write to the last delivery. */
  readonly tailMs: number;
  readonly writeErrors: number;
  readonly disconnects: number;
  /** CCS: `asynchronous` when the writes committed with `synchronous_commit = off`. */
  readonly commits?: CommitMode;
  /** Attempts this result took (more than 1 when other processes disturbed earlier ones). */
  readonly attempts: number;
  /** Cores used while the load ran, per process group; `other` is everything else. */
  readonly cpuCores: CpuUsage;
  /** Event-loop utilisation (0..1) while the load ran. */
  readonly eventLoop: { readonly server: number; readonly clients: readonly number[] };
  /** Queries the gateway ran per second while the load ran. */
  readonly gatewayQueriesPerSec: number;
  /**
   * CCS only: what the bench database's active backends were doing while the load ran (share of
   * samples per wait event, `CPU` when not waiting), and how many were active on average.
   */
  readonly postgresWaits?: { readonly meanActive: number; readonly shares: WaitEventShares };
  /** CCS only: INSERT issued → commit acknowledged, as the writer saw it. */
  readonly commit?: LatencySummary;
  /** With device acks: the `changes:received` reports sent (from the phase's start to its drain). */
  readonly deviceAcks?: DeviceAckStats;
  /** With a traced gateway: its spans and exports. */
  readonly tracing?: TracingStats;
  /** With `--probe-relay`: INSERT issued → relay broadcast, and how many changes per broadcast. */
  readonly relay?: {
    readonly issueToBroadcast: LatencySummary;
    readonly changesPerBroadcast: number;
  };
}

/** What the gateway did to the database while nothing was written. */
export interface IdleCost {
  readonly seconds: number;
  readonly queriesPerSec: number;
  /** Pool checkouts per second. */
  readonly checkoutsPerSec: number;
}

const round = (value: number, digits = 0): number => {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
};

function relaySummary(stats: ServerPhaseStats): Pick<PhaseResult, 'relay'> {
  if (!stats.relay || stats.relay.broadcasts === 0) return {};
  return {
    relay: {
      issueToBroadcast: stats.relay.issueToBroadcast,
      changesPerBroadcast: round(stats.relay.changes / stats.relay.broadcasts, 2),
    },
  };
}

function tracingSummary(
  stats: ServerPhaseStats,
  received: { readonly requests: number; readonly bytes: number },
  seconds: number,
): Pick<PhaseResult, 'tracing'> {
  if (!stats.tracing || seconds <= 0) return {};
  return {
    tracing: {
      spansPerSec: round(stats.tracing.spansEnded / seconds),
      exportedSpansPerSec: round(stats.tracing.spansExported / seconds),
      exportsPerSec: round(received.requests / seconds, 1),
      exportBytesPerSec: round(received.bytes / seconds),
    },
  };
}

function deviceAckSummary(
  counts: readonly AckCounts[],
  seconds: number,
): Pick<PhaseResult, 'deviceAcks'> {
  const sent = counts.reduce((sum, count) => sum + count.sent, 0);
  if (sent === 0 || seconds <= 0) return {};
  return {
    deviceAcks: {
      sentPerSec: round(sent / seconds),
    },
  };
}

/**
 * Runs one load at a time against the same server and clients: issues the writes (CCS) or emits
 * (bare), waits for the tail to drain, then merges what every client process recorded. Each run
 * gets a fresh phase number, carried in every body, so phases never mix.
 */
export class LoadPhaseRunner {
  private nextPhase = 1;
  private retriesLeft: number;

  constructor(private readonly rig: BenchRig) {
    this.retriesLeft = rig.busyRetry.retries;
  }

  /**
   * Runs a phase, again when something else on the machine disturbed it (see `busyRetry`),
   * unless `retryWhenBusy` is false (a warm-up). CCS writes commit `durable` (the default) or
   * `asynchronous` (see {@link CommitMode}).
   */
  async run(
    mode: LoadMode,
    writesPerSec: number,
    durationMs: number,
    {
      retryWhenBusy = true,
      commits = 'durable',
    }: { readonly retryWhenBusy?: boolean; readonly commits?: CommitMode } = {},
  ): Promise<PhaseResult> {
    for (let attempt = 1; ; attempt++) {
      const result = await this.runOnce(mode, writesPerSec, durationMs, attempt, commits);
      const other = result.cpuCores['other'] ?? 0;
      if (!retryWhenBusy || other <= this.rig.busyRetry.maxOtherCores || this.retriesLeft <= 0) {
        return result;
      }
      this.retriesLeft--;
      this.rig.log(`${mode} at ${writesPerSec} writes/s disturbed (${other} other cores); again`);
    }
  }

  private async runOnce(
    mode: LoadMode,
    writesPerSec: number,
    durationMs: number,
    attempts: number,
    commits: CommitMode,
  ): Promise<PhaseResult> {
    const { rig } = this;
    const phase = this.nextPhase++;
    await Promise.all([
      rig.server.call('phaseStats', {}),
      ...rig.clients.map((client) => client.call('loopUsage', {})),
      ...rig.clients.map((client) => client.call('takeAckCounts', {})),
    ]);
    rig.otlp.take();
    const ackStart = performance.now();
    await rig.cpu.start();
    rig.waits.start();
    const startMicros = nowMicros();
    const sent: LoadSent =
      mode === 'ccs'
        ? await rig.writer.run({
            phase,
            writesPerSec,
            durationMs,
            tickMs: rig.writerTickMs,
            commits,
          })
        : await rig.server.call('bareLoad', {
            phase,
            writesPerSec,
            durationMs,
            streams: rig.conversations.map((conversation) => conversation.stream),
            bodyBytes: rig.bodyBytes,
          });
    const writesEndMicros = nowMicros();
    const cpuCores = await rig.cpu.stop();
    const waitShares = rig.waits.stop();
    const [serverStats, clientLoops] = await Promise.all([
      rig.server.call('phaseStats', {}),
      Promise.all(rig.clients.map((client) => client.call('loopUsage', {}))),
    ]);
    const exported = rig.otlp.take();
    const loadSec = (writesEndMicros - startMicros) / 1e6;

    const subscribers = new Map(rig.conversations.map((c) => [c.stream, c.subscribers]));
    let expected = 0;
    let written = 0;
    let listening = 0;
    for (const [stream, count] of Object.entries(sent.sentPerStream)) {
      const streamSubscribers = subscribers.get(stream as BenchConversation['stream']) ?? 0;
      expected += count * streamSubscribers;
      written += count;
      if (count > 0) listening += streamSubscribers;
    }
    await this.drain(phase, expected);
    const ackCounts = await Promise.all(
      rig.clients.map((client) => client.call('takeAckCounts', {})),
    );
    const ackSec = (performance.now() - ackStart) / 1000;

    const reports = await Promise.all(rig.clients.map((client) => client.call('tally', { phase })));
    const latency = LatencyHistogram.empty();
    const commitLatency = LatencyHistogram.empty();
    let received = 0;
    let duplicated = 0;
    let outOfOrder = 0;
    let resyncs = 0;
    let lateDeliveries = 0;
    let receivingClients = 0;
    let disconnects = 0;
    let lastReceiveMicros = writesEndMicros;
    for (const report of reports) {
      latency.add(LatencyHistogram.decode(report.histogram));
      commitLatency.add(LatencyHistogram.decode(report.commitHistogram));
      received += report.distinct;
      duplicated += report.duplicated;
      outOfOrder += report.outOfOrder;
      resyncs += report.resyncs;
      lateDeliveries += report.lateDeliveries;
      receivingClients += report.receivingClients;
      disconnects += report.disconnects;
      lastReceiveMicros = Math.max(lastReceiveMicros, report.lastReceiveMicros);
    }
    const durationSec = (lastReceiveMicros - startMicros) / 1e6;
    return {
      ...latencySummary(latency),
      latencyHistogram: latency.encode(),
      deliveriesPerSec: round(received / durationSec),
      lost: expected - received,
      duplicated,
      outOfOrder,
      resyncs,
      lateDeliveries,
      commitToReceive: latencySummary(commitLatency),
      offeredWritesPerSec: round(writesPerSec),
      writesPerSec: round(written / (sent.elapsedMs / 1000)),
      expectedDeliveries: expected,
      receivedDeliveries: received,
      silentClients: Math.max(0, listening - receivingClients),
      durationSec: round(durationSec, 2),
      tailMs: round(Math.max(0, lastReceiveMicros - writesEndMicros) / 1000),
      writeErrors: sent.errors,
      disconnects,
      attempts,
      cpuCores,
      eventLoop: {
        server: round(serverStats.eventLoop, 2),
        clients: clientLoops.map((usage) => round(usage, 2)),
      },
      gatewayQueriesPerSec: round(serverStats.queries / loadSec),
      ...(mode === 'ccs' && {
        postgresWaits: { meanActive: rig.waits.meanActive, shares: waitShares },
      }),
      ...(sent.commit && { commit: sent.commit }),
      ...(mode === 'ccs' && commits === 'asynchronous' && { commits }),
      ...deviceAckSummary(ackCounts, ackSec),
      ...tracingSummary(serverStats, exported, loadSec),
      ...relaySummary(serverStats),
    };
  }

  /**
   * An idle window: no writes, every client still subscribed. What the gateway queries then is
   * the cost of waiting for changes.
   */
  async idle(durationMs: number): Promise<IdleCost> {
    await this.rig.server.call('phaseStats', {});
    const start = performance.now();
    await sleep(durationMs);
    const stats = await this.rig.server.call('phaseStats', {});
    const seconds = (performance.now() - start) / 1000;
    return {
      seconds: round(seconds, 2),
      queriesPerSec: round(stats.queries / seconds, 1),
      checkoutsPerSec: round(stats.poolCheckouts / seconds, 1),
    };
  }

  /** Waits until every expected delivery arrived, or nothing new arrived for the stall time. */
  private async drain(phase: number, expected: number): Promise<void> {
    let last = -1;
    let lastChange = performance.now();
    for (;;) {
      const progress = await Promise.all(
        this.rig.clients.map((client) => client.call('progress', { phase })),
      );
      const received = progress.reduce((sum, p) => sum + p.distinct, 0);
      if (received >= expected) return;
      if (received !== last) {
        last = received;
        lastChange = performance.now();
      } else if (performance.now() - lastChange > this.rig.drainStallMs) {
        return;
      }
      await sleep(50);
    }
  }
}
