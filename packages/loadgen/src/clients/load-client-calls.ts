import type { StreamName } from '@ccs/protocol';

/** One simulated device as a client process gets it. */
export interface LoadDevice {
  /** Handshake token (CCS: a signed device token; peers accept any). */
  readonly token: string;
  readonly userId: string;
  readonly deviceId: string;
  readonly conversationId: string;
  readonly stream: StreamName;
  /** Sends messages when a send load runs. */
  readonly sender: boolean;
}

/** How the clients of a run come back after a disconnect. */
export type ResumeStyle =
  /** Re-subscribe with `since` = the last seq had (CCS replays what was missed). */
  | 'resubscribe-since'
  /** socket.io connection state recovery: `connect` with `socket.recovered`, else re-join. */
  | 'socketio-recovery';

export interface OpenParams {
  /** Servers to spread the devices over (round-robin by device). */
  readonly urls: readonly string[];
  readonly devices: readonly LoadDevice[];
  /** Source addresses to spread the sockets over (loopback 127.0.0.x), so ports do not run out. */
  readonly localAddresses: readonly string[];
  /** Connect attempts per second started by this process (open loop); 0 = as fast as `concurrency` allows. */
  readonly connectsPerSec: number;
  /** Handshakes in flight at once in this process. */
  readonly concurrency: number;
  /** Subscribe each device to its stream once connected. */
  readonly subscribe: boolean;
  readonly resume: ResumeStyle;
}

export interface OpenResult {
  readonly attempted: number;
  readonly succeeded: number;
  readonly failures: readonly string[];
  readonly failed: number;
  /** Attempt → connect, µs, a LatencyHistogram encoded. */
  readonly connectHistogram: string;
  readonly firstAttemptMicros: number;
  readonly lastConnectMicros: number;
  readonly subscribes: SubscribeTally;
}

export interface SubscribeTally {
  readonly attempted: number;
  readonly failed: number;
  readonly failures: readonly string[];
  /** Request → ack, µs, encoded. */
  readonly histogram: string;
  readonly firstMicros: number;
  readonly lastMicros: number;
}

export interface SubscribeParams {
  /** Subscribes per second started by this process (open loop). */
  readonly perSec: number;
}

export interface SendParams {
  /** Rate of this process over the run, as (elapsed ms → sends per second). */
  readonly schedule: readonly RateStep[];
  readonly bodyBytes: number;
  /** Give up on an ack after this long (counted as `timeout`). */
  readonly ackTimeoutMs: number;
}

/** A piece of a rate schedule: from `fromPerSec` to `toPerSec` linearly over `durationMs`. */
export interface RateStep {
  readonly name: string;
  readonly durationMs: number;
  readonly fromPerSec: number;
  readonly toPerSec: number;
}

export interface SendResult {
  readonly issued: number;
  readonly acked: number;
  /** Refusals and timeouts by error code. */
  readonly refused: Readonly<Record<string, number>>;
  readonly ackHistogram: string;
  readonly elapsedMs: number;
  /** Highest seq an ack named, per stream. */
  readonly heads: Readonly<Record<string, number>>;
  /** Attempts refused with `rate_limited` and tried again after `retryAfterMs`. */
  readonly retried: number;
}

export interface TypingParams {
  readonly perSec: number;
  readonly durationMs: number;
}

export interface TypingResult {
  readonly issued: number;
  readonly acked: number;
  readonly refused: Readonly<Record<string, number>>;
  readonly ackHistogram: string;
  /** `typing` events the clients received. */
  readonly received: number;
  /** `presence` events the clients received. */
  readonly presenceEvents: number;
}

export interface DropParams {
  /** Share of this process's connected sockets whose transport is closed abruptly. */
  readonly fraction: number;
}

export interface PauseParams {
  /** Share of this process's sockets that stop reading their TCP socket. */
  readonly fraction: number;
}

/** What the clients received and how their connections went, since `open`. */
export interface ClientTally {
  /** Per stream the highest seq any client of this process saw. */
  readonly heads: Readonly<Record<string, number>>;
  /** Per socket (each holds one stream): the head at subscribe time and what arrived; the runner judges it against the stream's final head. */
  readonly streams: readonly StreamReceipt[];
  readonly duplicated: number;
  readonly outOfOrder: number;
  /** Send → receive, µs, encoded (clients that never stopped reading). */
  readonly receiveHistogram: string;
  /** Send → receive of the clients that stopped reading at some point, µs, encoded. */
  readonly stalledHistogram: string;
  /** committedAt → receive, µs, encoded. */
  readonly commitHistogram: string;
  /** Per second of the load (by send time): encoded send → receive histograms. */
  readonly timeline: Readonly<Record<number, string>>;
  readonly firstReceiveMicros: number;
  readonly lastReceiveMicros: number;
  readonly disconnects: Readonly<Record<string, number>>;
  /** Failed reconnect attempts by error message. */
  readonly reconnectErrors: Readonly<Record<string, number>>;
  /** Re-subscribes after a reconnect that were refused (and tried again), by error code. */
  readonly resubscribeRefusals: Readonly<Record<string, number>>;
  readonly dropped: number;
  readonly resumed: number;
  /** Drop → connected again, µs, encoded. */
  readonly reconnectHistogram: string;
  /** Connected again → live, µs, encoded. */
  readonly resumeHistogram: string;
  readonly resyncs: number;
  readonly cpuMicros: number;
}

/** Deliveries of one stream to one socket, in compact form. */
export interface StreamReceipt {
  readonly stream: string;
  /** The stream's head when the socket subscribed: changes above it are owed to the socket. */
  readonly baseline: number;
  /** Distinct seqs above `baseline` received. */
  readonly received: number;
  /** Highest seq received. */
  readonly highest: number;
}

export interface LoadClientCalls {
  open: { params: OpenParams; result: OpenResult };
  /** µs since the epoch at which the load starts (shared by every process): the timeline's 0. */
  startLoad: { params: { loadStartMicros: number }; result: Record<string, never> };
  subscribe: { params: SubscribeParams; result: SubscribeTally };
  send: { params: SendParams; result: SendResult };
  typing: { params: TypingParams; result: TypingResult };
  drop: { params: DropParams; result: { dropped: number } };
  /** Waits until every dropped socket is live again (or `timeoutMs` passes). */
  awaitResumed: { params: { timeoutMs: number }; result: { pending: number } };
  pause: { params: PauseParams; result: { paused: number } };
  unpause: { params: Record<string, never>; result: Record<string, never> };
  /** Distinct deliveries received so far (for the drain and the progress bar). */
  progress: { params: Record<string, never>; result: { received: number; connected: number } };
  tally: { params: Record<string, never>; result: ClientTally };
  close: { params: Record<string, never>; result: Record<string, never> };
}
