import { setTimeout as sleep } from 'node:timers/promises';
import type { GatewayLimits } from '@ccs/realtime';
import { LatencyHistogram } from '@ccs/test-clients';
import type {
  ClientTally,
  LoadClientCalls,
  LoadDevice,
  OpenResult,
  RateStep,
  SendResult,
  SubscribeTally,
  TypingResult,
} from '../clients/load-client-calls.js';
import { ChildLink } from '../ipc/child-link.js';
import { siblingModule } from '../ipc/sibling-module.js';
import { nowMicros } from '../measure/message-body.js';
import { shareOfSchedule } from '../measure/rate-schedule.js';
import type {
  ConnectionStats,
  LatencyDistribution,
  ServerUsage,
  SubscribeStats,
  TargetName,
  TargetRun,
  TimelinePoint,
} from '../report/load-report.js';
import type { TargetServerCalls, TargetUsage } from '../targets/target-server-calls.js';
import type { LoadProgress } from './load-progress.js';

/** Sockets one client process holds at most: below the 20,000 open files a process may have here. */
export const SOCKETS_PER_CLIENT_PROCESS = 12_500;

/** Options of {@link TargetSession.start}. */
export interface TargetSessionOptions {
  readonly target: TargetName;
  readonly databaseUrl: string;
  readonly redisUrl: string;
  readonly redisKeyPrefix: string;
  readonly jwtSecret: string;
  /** Server processes (CCS gateways, or peer nodes) the clients are spread over. */
  readonly servers: number;
  readonly redisPresence: boolean;
  readonly gatewayLimits: GatewayLimits | undefined;
  /** Client processes; at least enough for {@link SOCKETS_PER_CLIENT_PROCESS}. */
  readonly clientProcesses: number;
  readonly devices: number;
  /** Loopback source addresses the client sockets are spread over. */
  readonly sourceAddresses: number;
  readonly progress: LoadProgress;
  /** Write a V8 CPU profile of every server process into this directory. */
  readonly profileDir?: string;
}

/** Options of {@link TargetSession.open}. */
export interface OpenOptions {
  readonly devices: readonly LoadDevice[];
  /** Connects per second over all client processes; 0: as fast as `concurrency` lets them. */
  readonly connectsPerSec: number;
  /** Handshakes in flight at once, over all client processes. */
  readonly concurrency: number;
  readonly subscribe: boolean;
}

function toDistribution(histogram: LatencyHistogram): LatencyDistribution {
  return { ...histogram.percentiles(), buckets: histogram.buckets() };
}

function merge(encoded: readonly string[]): LatencyHistogram {
  const merged = LatencyHistogram.empty();
  for (const one of encoded) merged.add(LatencyHistogram.decode(one));
  return merged;
}

function addCounts(into: Map<string, number>, counts: Readonly<Record<string, number>>): void {
  for (const [key, value] of Object.entries(counts)) into.set(key, (into.get(key) ?? 0) + value);
}

function perSec(count: number, fromMicros: number, toMicros: number): number {
  const seconds = (toMicros - fromMicros) / 1e6;
  return seconds > 0 ? Math.round(count / seconds) : 0;
}

/**
 * One scenario against one target: the server processes, the client processes and the devices
 * they hold, and every measurement the scenario asks for, merged into a {@link TargetRun} by
 * {@link finish}.
 */
export class TargetSession {
  private readonly notes: string[] = [];
  private connection: ConnectionStats | undefined;
  private subscribes: SubscribeStats | undefined;
  private readonly sends: SendResult[] = [];
  private loadStartMicros = 0;
  private readonly startedMicros = nowMicros();
  private readonly sqlHeads = new Map<string, number>();
  private typingResults: TypingResult[] = [];
  private rssPerConnection: number[] = [];
  /** Share of the senders each client process holds. */
  private sendShares: number[] = [];
  private sqlWrites: { committed: number; elapsedMs: number } | undefined;

  private constructor(
    readonly options: TargetSessionOptions,
    private readonly servers: readonly ChildLink<TargetServerCalls>[],
    readonly urls: readonly string[],
    private readonly clients: readonly ChildLink<LoadClientCalls>[],
  ) {}

  static async start(options: TargetSessionOptions): Promise<TargetSession> {
    const servers: ChildLink<TargetServerCalls>[] = [];
    const clients: ChildLink<LoadClientCalls>[] = [];
    try {
      for (let index = 0; index < options.servers; index++) {
        servers.push(
          await ChildLink.fork<TargetServerCalls>(
            siblingModule(import.meta.url, '../targets/target-server'),
            {
              nodeFlags: [
                '--expose-gc',
                ...(options.profileDir
                  ? [
                      '--cpu-prof',
                      // A directory per server: each of its threads writes a profile there.
                      `--cpu-prof-dir=${options.profileDir}/${options.target}-${index}`,
                    ]
                  : []),
              ],
            },
          ),
        );
      }
      const urls: string[] = [];
      for (const [index, server] of servers.entries()) {
        const { port } = await server.call('start', {
          target: options.target,
          databaseUrl: options.databaseUrl,
          redisUrl: options.redisUrl,
          redisKeyPrefix: `${options.redisKeyPrefix}${index}:`,
          jwtSecret: options.jwtSecret,
          redisPresence: options.redisPresence,
          ...(options.gatewayLimits && { limits: options.gatewayLimits }),
        });
        urls.push(`http://127.0.0.1:${port}`);
      }
      const processes = Math.max(
        options.clientProcesses,
        Math.ceil(options.devices / SOCKETS_PER_CLIENT_PROCESS),
      );
      for (let index = 0; index < processes; index++) {
        clients.push(
          await ChildLink.fork<LoadClientCalls>(
            siblingModule(import.meta.url, '../clients/load-client'),
          ),
        );
      }
      return new TargetSession(options, servers, urls, clients);
    } catch (error) {
      await Promise.allSettled([...servers, ...clients].map((child) => child.exit()));
      throw error;
    }
  }

  get target(): TargetName {
    return this.options.target;
  }

  note(text: string): void {
    this.notes.push(text);
  }

  /** GC and RSS baseline of every server: RSS per connection is measured from here. */
  async markBaseline(): Promise<void> {
    await Promise.all(this.servers.map((server) => server.call('markBaseline', {})));
  }

  /** Connects `devices` (spread over the client processes) and, if asked, subscribes each. */
  async open(options: OpenOptions): Promise<void> {
    const shares = this.clients.map((): LoadDevice[] => []);
    options.devices.forEach((device, index) => shares[index % shares.length]!.push(device));
    const senders = options.devices.filter((device) => device.sender).length;
    this.sendShares = shares.map((share) =>
      senders === 0 ? 0 : share.filter((device) => device.sender).length / senders,
    );
    const sources = Array.from(
      { length: this.options.sourceAddresses },
      (_, index) => `127.0.0.${index + 1}`,
    );
    this.options.progress.step(`${this.target}: connect`, options.devices.length);
    const polling = this.pollProgress('connected');
    const results = await Promise.all(
      this.clients.map((client, index) =>
        client.call('open', {
          urls: this.urls,
          devices: shares[index]!,
          localAddresses: sources,
          connectsPerSec: options.connectsPerSec / this.clients.length,
          concurrency: Math.max(1, Math.round(options.concurrency / this.clients.length)),
          subscribe: options.subscribe,
          resume: this.target === 'redis-streams' ? 'socketio-recovery' : 'resubscribe-since',
        }),
      ),
    ).finally(() => polling.stop());
    this.connection = this.connectionStats(results);
    if (options.subscribe) this.subscribes = this.subscribeStats(results.map((r) => r.subscribes));
    if (this.connection.failed > 0) {
      this.note(
        `${this.connection.failed} connects failed: ${this.connection.failures.join('; ')}`,
      );
    }
  }

  /** Subscribes every connected device not subscribed yet, `perSec` a second in all (open loop). */
  async subscribeAll(perSecTotal: number): Promise<void> {
    this.options.progress.step(`${this.target}: subscribe`, 0);
    const results = await Promise.all(
      this.clients.map((client) =>
        client.call('subscribe', { perSec: perSecTotal / this.clients.length }),
      ),
    );
    this.subscribes = this.subscribeStats(results);
  }

  /** Every sender sends messages following `schedule` (over all processes). */
  /** Marks the start of the load (the timeline's second 0), once. */
  async startLoadClock(): Promise<void> {
    if (this.loadStartMicros > 0) return;
    this.loadStartMicros = nowMicros();
    await Promise.all(
      this.clients.map((client) =>
        client.call('startLoad', { loadStartMicros: this.loadStartMicros }),
      ),
    );
  }

  /** Writes a writer made outside the clients (SQL): they count as sends. */
  recordSqlWrites(committed: number, elapsedMs: number): void {
    this.sqlWrites = { committed, elapsedMs };
  }

  async send(schedule: readonly RateStep[], bodyBytes: number): Promise<void> {
    await this.startLoadClock();
    const durationMs = schedule.reduce((total, step) => total + step.durationMs, 0);
    this.options.progress.step(`${this.target}: send`, Math.round(durationMs / 1000));
    const ticker = this.tick(durationMs);
    const results = await Promise.all(
      this.clients.map((client, index) =>
        client.call('send', {
          // Each process sends its senders' part of the load.
          schedule: shareOfSchedule(schedule, this.sendShares[index] ?? 0),
          bodyBytes,
          ackTimeoutMs: 30_000,
        }),
      ),
    ).finally(() => ticker.stop());
    this.sends.push(...results);
  }

  /** Typing updates at `perSec` in all for `durationMs`. */
  async typing(perSecTotal: number, durationMs: number): Promise<void> {
    this.options.progress.step(`${this.target}: typing`, Math.round(durationMs / 1000));
    const ticker = this.tick(durationMs);
    const results = await Promise.all(
      this.clients.map((client) =>
        client.call('typing', { perSec: perSecTotal / this.clients.length, durationMs }),
      ),
    ).finally(() => ticker.stop());
    this.typingResults = this.typingResults.concat(results);
  }

  /** Closes the transport of `fraction` of the connected sockets; they reconnect and resume. */
  async drop(fraction: number): Promise<number> {
    const results = await Promise.all(
      this.clients.map((client) => client.call('drop', { fraction })),
    );
    return results.reduce((total, result) => total + result.dropped, 0);
  }

  /** Waits until every dropped socket is live again; notes the ones that were not. */
  async awaitResumed(timeoutMs: number): Promise<void> {
    this.options.progress.step(`${this.target}: resume`, 0);
    const results = await Promise.all(
      this.clients.map((client) => client.call('awaitResumed', { timeoutMs })),
    );
    const pending = results.reduce((total, result) => total + result.pending, 0);
    if (pending > 0) this.note(`${pending} dropped clients had not resumed after ${timeoutMs} ms`);
  }

  async pause(fraction: number): Promise<number> {
    const results = await Promise.all(
      this.clients.map((client) => client.call('pause', { fraction })),
    );
    return results.reduce((total, result) => total + result.paused, 0);
  }

  async unpause(): Promise<void> {
    await Promise.all(this.clients.map((client) => client.call('unpause', {})));
  }

  /** Heads a writer outside the clients reached (SQL writes): owed to the subscribers too. */
  recordHeads(heads: ReadonlyMap<string, number>): void {
    for (const [stream, head] of heads) {
      this.sqlHeads.set(stream, Math.max(this.sqlHeads.get(stream) ?? 0, head));
    }
  }

  /**
   * Waits until deliveries stop arriving: the distinct count unchanged for `quietMs` (at most
   * `maxMs`). Losses show up afterwards as seqs owed and never received.
   */
  async drain(quietMs = 1_500, maxMs = 60_000): Promise<void> {
    this.options.progress.step(`${this.target}: drain`, 0);
    const deadline = performance.now() + maxMs;
    let last = -1;
    let quietSince = performance.now();
    while (performance.now() < deadline) {
      const received = await this.received();
      if (received !== last) {
        last = received;
        quietSince = performance.now();
      } else if (performance.now() - quietSince >= quietMs) {
        return;
      }
      await sleep(100);
    }
    this.note(`deliveries still arriving ${maxMs} ms after the load ended`);
  }

  /** Collects every measurement, stops the processes, and returns the run. */
  async finish(): Promise<TargetRun> {
    try {
      const usages = await Promise.all(
        this.servers.map((server) => server.call('usage', { settle: false })),
      );
      const tallies = await Promise.all(this.clients.map((client) => client.call('tally', {})));
      return this.buildRun(usages, tallies);
    } finally {
      await this.close();
    }
  }

  /**
   * RSS per connection of every server: (RSS after a full GC with every socket open − the
   * baseline) ÷ the sockets it holds.
   */
  async measureRssPerConnection(): Promise<void> {
    const usages = await Promise.all(
      this.servers.map((server) => server.call('usage', { settle: true })),
    );
    this.rssPerConnection = usages.map((usage) =>
      usage.sockets > 0 ? Math.round((usage.rssBytes - usage.baselineRssBytes) / usage.sockets) : 0,
    );
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.clients.map((client) => client.call('close', {})));
    await Promise.allSettled(this.servers.map((server) => server.call('stop', {})));
    await Promise.allSettled([...this.clients, ...this.servers].map((child) => child.exit()));
  }

  private async received(): Promise<number> {
    const results = await Promise.all(this.clients.map((client) => client.call('progress', {})));
    return results.reduce((total, result) => total + result.received, 0);
  }

  private pollProgress(field: 'connected' | 'received'): { stop(): void } {
    let stopped = false;
    void (async () => {
      while (!stopped) {
        await sleep(250);
        if (stopped) break;
        const results = await Promise.all(
          this.clients.map((client) => client.call('progress', {})),
        ).catch(() => []);
        this.options.progress.update(results.reduce((total, result) => total + result[field], 0));
      }
    })();
    return { stop: () => (stopped = true) };
  }

  private tick(durationMs: number): { stop(): void } {
    const started = performance.now();
    const timer = setInterval(
      () =>
        this.options.progress.update(
          Math.min(Math.round(durationMs / 1000), Math.round((performance.now() - started) / 1000)),
        ),
      250,
    );
    return { stop: () => clearInterval(timer) };
  }

  private connectionStats(results: readonly OpenResult[]): ConnectionStats {
    const histogram = merge(results.map((result) => result.connectHistogram));
    const succeeded = results.reduce((total, result) => total + result.succeeded, 0);
    const first = Math.min(...results.map((result) => result.firstAttemptMicros || Infinity));
    const last = Math.max(...results.map((result) => result.lastConnectMicros));
    return {
      attempted: results.reduce((total, result) => total + result.attempted, 0),
      succeeded,
      failed: results.reduce((total, result) => total + result.failed, 0),
      perSec: Number.isFinite(first) ? perSec(succeeded, first, last) : 0,
      connectTime: toDistribution(histogram),
      failures: results.flatMap((result) => result.failures).slice(0, 5),
    };
  }

  private subscribeStats(results: readonly SubscribeTally[]): SubscribeStats {
    const histogram = merge(results.map((result) => result.histogram));
    const first = Math.min(...results.map((result) => result.firstMicros || Infinity));
    const last = Math.max(...results.map((result) => result.lastMicros));
    const failures = results.flatMap((result) => result.failures);
    const failed = results.reduce((total, result) => total + result.failed, 0);
    if (failed > 0) this.note(`${failed} subscribes failed: ${failures.slice(0, 3).join('; ')}`);
    return {
      attempted: results.reduce((total, result) => total + result.attempted, 0),
      failed,
      perSec: Number.isFinite(first) ? perSec(histogram.count, first, last) : 0,
      latency: toDistribution(histogram),
    };
  }

  private buildRun(usages: readonly TargetUsage[], tallies: readonly ClientTally[]): TargetRun {
    // The head each stream reached: the highest seq any ack, writer or client saw.
    const heads = new Map<string, number>(this.sqlHeads);
    const raise = (stream: string, seq: number): void => {
      heads.set(stream, Math.max(heads.get(stream) ?? 0, seq));
    };
    for (const send of this.sends) for (const [s, seq] of Object.entries(send.heads)) raise(s, seq);
    for (const tally of tallies) for (const [s, seq] of Object.entries(tally.heads)) raise(s, seq);
    let expected = 0;
    let received = 0;
    for (const tally of tallies) {
      for (const stream of tally.streams) {
        if (stream.baseline < 0) continue;
        expected += Math.max(0, (heads.get(stream.stream) ?? 0) - stream.baseline);
        received += stream.received;
      }
    }
    const disconnects = new Map<string, number>();
    const refused = new Map<string, number>();
    for (const tally of tallies) addCounts(disconnects, tally.disconnects);
    const resubscribeRefusals = new Map<string, number>();
    for (const tally of tallies) addCounts(resubscribeRefusals, tally.resubscribeRefusals);
    if (resubscribeRefusals.size > 0) {
      this.note(
        `re-subscribes refused after a reconnect (tried again): ${[...resubscribeRefusals]
          .map(([code, n]) => `${code} ×${n}`)
          .join(', ')}`,
      );
    }
    const reconnectErrors = new Map<string, number>();
    for (const tally of tallies) addCounts(reconnectErrors, tally.reconnectErrors);
    if (reconnectErrors.size > 0) {
      this.note(
        `reconnect attempts that failed (socket.io backed off and retried): ${[...reconnectErrors]
          .map(([message, n]) => `${message} ×${n}`)
          .join('; ')}`,
      );
    }
    for (const send of this.sends) addCounts(refused, send.refused);
    const retried = this.sends.reduce((total, send) => total + send.retried, 0);
    if (retried > 0)
      this.note(`${retried} send attempts were refused with rate_limited and tried again`);
    if (refused.size > 0) {
      this.note(`sends refused: ${[...refused].map(([code, n]) => `${code} ${n}`).join(', ')}`);
    }
    const resyncs = tallies.reduce((total, tally) => total + tally.resyncs, 0);
    if (resyncs > 0) this.note(`${resyncs} resync_required received`);
    const dropped = tallies.reduce((total, tally) => total + tally.dropped, 0);
    const receive = merge(tallies.map((tally) => tally.receiveHistogram));
    const stalled = merge(tallies.map((tally) => tally.stalledHistogram));
    if (stalled.count > 0) {
      const { count, p50Ms, p99Ms, maxMs } = stalled.percentiles();
      this.note(
        `clients that stopped reading: ${count} deliveries, p50 ${p50Ms} ms, p99 ${p99Ms} ms, ` +
          `max ${maxMs} ms (not in send → receive, which is the clients that kept reading)`,
      );
    }
    const seconds = new Map<number, string[]>();
    for (const tally of tallies) {
      for (const [second, encoded] of Object.entries(tally.timeline)) {
        const list = seconds.get(Number(second)) ?? [];
        list.push(encoded);
        seconds.set(Number(second), list);
      }
    }
    const timeline: TimelinePoint[] = [...seconds]
      .sort(([a], [b]) => a - b)
      .map(([atSec, encoded]) => {
        const { count, p50Ms, p99Ms } = merge(encoded).percentiles();
        return { atSec, count, p50Ms, p99Ms };
      });
    const sendSeconds =
      Math.max(this.sqlWrites?.elapsedMs ?? 0, ...this.sends.map((send) => send.elapsedMs)) / 1000;
    const acked =
      (this.sqlWrites?.committed ?? 0) + this.sends.reduce((total, send) => total + send.acked, 0);
    const lastReceive = Math.max(0, ...tallies.map((tally) => tally.lastReceiveMicros));
    const ack = merge(this.sends.map((send) => send.ackHistogram));
    const typingAck = merge(this.typingResults.map((result) => result.ackHistogram));
    if (this.typingResults.length > 0) {
      const typed = this.typingResults.reduce((total, result) => total + result.acked, 0);
      const heard = this.typingResults.reduce((total, result) => total + result.received, 0);
      const presence = this.typingResults.reduce(
        (total, result) => total + result.presenceEvents,
        0,
      );
      const typingRefused = new Map<string, number>();
      for (const result of this.typingResults) addCounts(typingRefused, result.refused);
      this.note(
        `typing: ${typed} updates acked (p99 ${typingAck.percentiles().p99Ms} ms), ` +
          `${heard} typing events and ${presence} presence events received` +
          (typingRefused.size > 0
            ? `; refused: ${[...typingRefused].map(([code, n]) => `${code} ${n}`).join(', ')}`
            : ''),
      );
    }
    const clientCpuMicros = tallies.reduce((total, tally) => total + tally.cpuMicros, 0);
    const durationSec = (nowMicros() - this.startedMicros) / 1e6;
    return {
      target: this.target,
      durationSec: Math.round(durationSec * 10) / 10,
      connections: this.connection ?? {
        attempted: 0,
        succeeded: 0,
        failed: 0,
        perSec: 0,
        connectTime: toDistribution(LatencyHistogram.empty()),
        failures: [],
      },
      ...(this.subscribes && { subscribes: this.subscribes }),
      ...(this.sends.length > 0 && {
        sendToAck: toDistribution(ack),
      }),
      ...(receive.count > 0 && {
        sendToReceive: toDistribution(receive),
        commitToReceive: toDistribution(merge(tallies.map((tally) => tally.commitHistogram))),
      }),
      timeline,
      sendsPerSec: sendSeconds > 0 ? Math.round(acked / sendSeconds) : 0,
      deliveriesPerSec:
        this.loadStartMicros > 0
          ? perSec(receive.count + stalled.count, this.loadStartMicros, lastReceive)
          : 0,
      delivery: {
        expected,
        received,
        lost: expected - received,
        duplicated: tallies.reduce((total, tally) => total + tally.duplicated, 0),
        outOfOrder: tallies.reduce((total, tally) => total + tally.outOfOrder, 0),
      },
      disconnects: Object.fromEntries(disconnects),
      ...(dropped > 0 && {
        resume: {
          dropped,
          resumed: tallies.reduce((total, tally) => total + tally.resumed, 0),
          reconnect: toDistribution(merge(tallies.map((tally) => tally.reconnectHistogram))),
          time: toDistribution(merge(tallies.map((tally) => tally.resumeHistogram))),
        },
      }),
      servers: usages.map((usage, index) => this.serverUsage(usage, index)),
      clientCpuCores: Math.round((clientCpuMicros / 1e6 / Math.max(durationSec, 1e-3)) * 100) / 100,
      notes: this.notes,
    };
  }

  private serverUsage(usage: TargetUsage, index: number): ServerUsage {
    return {
      peakRssBytes: usage.peakRssBytes,
      ...(this.rssPerConnection[index] !== undefined && {
        rssPerConnectionBytes: this.rssPerConnection[index],
      }),
      cpuCores: Math.round((usage.cpuMicros / Math.max(usage.elapsedMicros, 1)) * 100) / 100,
      eventLoopLagP99Ms: Math.round(usage.eventLoopLagP99Ms * 100) / 100,
      eventLoopLagMaxMs: Math.round(usage.eventLoopLagMaxMs * 100) / 100,
      eventLoopUtilization: Math.round(usage.eventLoopUtilization * 1000) / 1000,
    };
  }
}
