/**
 * The calls the delivery bench's runner makes to its server and client processes (see
 * `ChildLink`), and what they carry.
 */
import type { StreamName } from '@ccs/protocol';
import type { TracingCounts } from '@ccs/server';
import type { PhaseProgress, TallyReport } from '../measure/delivery-tallies.js';
import type { LatencySummary } from './latency-summary.js';

/** The two things the bench compares. */
export type LoadMode = 'ccs' | 'bareEmit';

/** Messages written to one stream in one phase. */
export type SentPerStream = Readonly<Record<StreamName, number>>;

/** `GatewayOptions.relay` as the bench sets it; unset fields are the gateway's defaults. */
export interface RelayTuning {
  readonly busyTickMs?: number;
  readonly idleTickMs?: number;
  readonly batchSize?: number;
  /** False: one `changes` frame per change instead of one per room per tick. */
  readonly coalesce?: boolean;
}

/** Settings of the gateway under test. */
export interface BenchServerConfig {
  readonly databaseUrl: string;
  readonly jwtSecret: string;
  /** Gateway pool size. */
  readonly maxConnections: number;
  readonly relay: RelayTuning;
  /** Wrap the relay's broadcast to time it (see relay-probe.ts). */
  readonly probeRelay: boolean;
  /** Give the gateway Prometheus metrics (`createGatewayMetrics`), as the sync-server does. */
  readonly metrics: boolean;
  /**
   * Trace every change (the gateway's `tracer`), exported in batches over OTLP/HTTP to this
   * endpoint by `@ccs/server`'s `startServiceTracing`, as the sync-server does; none: no tracer.
   */
  readonly otlpEndpoint?: string;
  /** Share of the changes traced (the gateway's `traceSampleRatio`). */
  readonly traceSampleRatio: number;
  /** What the gateway asks of devices in its subscribe answers (its `receivedReportMs`). */
  readonly receivedReportMs: number;
}

/** A bare-emit load, run inside the server process on the sockets the gateway holds. */
export interface BareLoadParams {
  readonly phase: number;
  readonly writesPerSec: number;
  readonly durationMs: number;
  readonly streams: readonly StreamName[];
  readonly bodyBytes: number;
}

/** What a load generator reports when it has issued everything. */
export interface LoadSent {
  readonly sentPerStream: SentPerStream;
  /** From the first to the last write or emit, in ms. */
  readonly elapsedMs: number;
  readonly errors: number;
  /** CCS only: from issuing an INSERT to its commit being acknowledged. */
  readonly commit?: LatencySummary;
}

/** What the server did during a phase (since the previous `phaseStats` call). */
export interface ServerPhaseStats {
  /** Event-loop utilisation, 0..1. */
  readonly eventLoop: number;
  /** Checkouts of the gateway's pg pool. */
  readonly poolCheckouts: number;
  /** Queries the gateway's pg clients ran. */
  readonly queries: number;
  /** With `probeRelay`: what the relay broadcast and how long after the INSERT was issued. */
  readonly relay?: {
    readonly broadcasts: number;
    readonly changes: number;
    readonly issueToBroadcast: LatencySummary;
  };
  /** With `otlpEndpoint`: spans the gateway ended and handed to its exporter. */
  readonly tracing?: TracingCounts;
}

export interface ServerCalls {
  /** Starts the gateway on a new port; after `stop`, it may be called again (other settings). */
  start: { params: BenchServerConfig; result: { port: number } };
  bareLoad: { params: BareLoadParams; result: LoadSent };
  phaseStats: { params: Record<string, never>; result: ServerPhaseStats };
  stop: { params: Record<string, never>; result: Record<string, never> };
}

/** `changes:received` reports the devices of a client process sent (unanswered, as the SDK's). */
export interface AckCounts {
  readonly sent: number;
}

/** One simulated device: its handshake token and the stream it subscribes to. */
export interface ClientDevice {
  readonly token: string;
  readonly stream: StreamName;
}

export interface ClientWorkerCalls {
  connect: {
    params: { url: string; devices: readonly ClientDevice[]; concurrency: number };
    result: { connected: number; failures: readonly string[] };
  };
  /**
   * Opens one more socket (`token`'s device) and subscribes it to every stream given,
   * `concurrency` subscribes in flight at a time; it only holds the streams (tracked by the
   * gateway), its deliveries are not tallied.
   */
  subscribeMany: {
    params: { url: string; token: string; streams: readonly StreamName[]; concurrency: number };
    result: { subscribed: number; failures: readonly string[] };
  };
  /** Disconnects the socket `subscribeMany` opened for `token`: the gateway releases its streams. */
  closeHolder: { params: { token: string }; result: Record<string, never> };
  /**
   * From now on every device reports what it received (`changes:received`) or not (a report due
   * is dropped); throttled like `@ccs/client`, to what the gateway asked in its subscribe answer.
   */
  deviceAcks: { params: { report: boolean }; result: Record<string, never> };
  /** The reports sent since the previous call, and their answers so far. */
  takeAckCounts: { params: Record<string, never>; result: AckCounts };
  progress: { params: { phase: number }; result: PhaseProgress };
  /** Returns the phase's tally and forgets it. */
  tally: { params: { phase: number }; result: TallyReport };
  /** Event-loop utilisation (0..1) since the previous call. */
  loopUsage: { params: Record<string, never>; result: number };
  /** Disconnects every socket (not counted as a disconnect); `connect` may follow. */
  close: { params: Record<string, never>; result: Record<string, never> };
}
