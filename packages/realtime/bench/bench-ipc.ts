import type { StreamName } from '@ccs/protocol';
import type { LatencySummary } from './latency-recorder.js';

/**
 * The calls the runner makes to its child processes over the fork IPC channel. Each entry maps
 * a method to its parameters and result; {@link ChildLink} and `serveParentCalls` are typed by
 * these maps so both sides agree.
 */
export type CallMap<Calls> = {
  readonly [Method in keyof Calls]: { readonly params: unknown; readonly result: unknown };
};

/** The two things the bench compares. */
export type LoadMode = 'ccs' | 'bareEmit';

/** Messages written to one stream in one phase. */
export type SentPerStream = Readonly<Record<StreamName, number>>;

/** Settings of the gateway under test. */
export interface BenchServerConfig {
  readonly databaseUrl: string;
  readonly jwtSecret: string;
  /** Gateway pool size. */
  readonly maxConnections: number;
  readonly relay: { readonly pollIntervalMs?: number; readonly batchSize?: number };
  /** Wrap the relay's broadcast to time it (see relay-probe.ts). */
  readonly probeRelay: boolean;
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
  /** Checkouts of the gateway's pg pool: about one per query the gateway ran. */
  readonly poolCheckouts: number;
  /** With `probeRelay`: what the relay broadcast and how long after the INSERT was issued. */
  readonly relay?: {
    readonly broadcasts: number;
    readonly changes: number;
    readonly issueToBroadcast: LatencySummary;
  };
}

export interface ServerCalls {
  start: { params: BenchServerConfig; result: { port: number } };
  bareLoad: { params: BareLoadParams; result: LoadSent };
  phaseStats: { params: Record<string, never>; result: ServerPhaseStats };
  stop: { params: Record<string, never>; result: Record<string, never> };
}

/** One simulated device: its handshake token and the stream it subscribes to. */
export interface ClientDevice {
  readonly token: string;
  readonly stream: StreamName;
}

/** Counts of one phase as one client process saw them. */
export interface PhaseProgress {
  readonly distinct: number;
  readonly duplicated: number;
  /** Sockets that disconnected since they connected (a valid run has none). */
  readonly disconnects: number;
}

/** Everything one client process recorded for one phase. */
export interface TallyReport extends PhaseProgress {
  /** {@link LatencyRecorder} as compressed base64. */
  readonly histogram: string;
  /** µs since the epoch; 0 when nothing arrived. */
  readonly firstReceiveMicros: number;
  readonly lastReceiveMicros: number;
}

export interface ClientWorkerCalls {
  connect: {
    params: { url: string; devices: readonly ClientDevice[]; concurrency: number };
    result: { connected: number; failures: readonly string[] };
  };
  progress: { params: { phase: number }; result: PhaseProgress };
  /** Returns the phase's tally and forgets it. */
  tally: { params: { phase: number }; result: TallyReport };
  /** Event-loop utilisation (0..1) since the previous call. */
  loopUsage: { params: Record<string, never>; result: number };
  close: { params: Record<string, never>; result: Record<string, never> };
}

/** Runner → child. */
export interface CallRequest {
  readonly kind: 'call';
  readonly id: number;
  readonly method: string;
  readonly params: unknown;
}

/** Child → runner. */
export type ChildMessage =
  | { readonly kind: 'ready' }
  | { readonly kind: 'reply'; readonly id: number; readonly result: unknown }
  | { readonly kind: 'failure'; readonly id: number; readonly message: string };
