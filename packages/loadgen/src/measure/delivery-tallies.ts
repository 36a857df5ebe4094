import { isChangeOf, type ChangeEvent } from '@ccs/protocol';
import { LatencyHistogram } from '@ccs/test-clients';
import { decodeBody } from './message-body.js';

/** Counts of one phase as the clients of one process saw them so far. */
export interface PhaseProgress {
  readonly distinct: number;
  readonly duplicated: number;
  /** Changes that arrived after a higher seq of the same stream (for the same client). */
  readonly outOfOrder: number;
  /** Sockets that disconnected since they connected (a valid run has none). */
  readonly disconnects: number;
}

/** Everything the clients of one process recorded for one phase. */
export interface TallyReport extends PhaseProgress {
  /** Deliveries of phases reported earlier, arrived since the previous report. */
  readonly lateDeliveries: number;
  /** `resync_required` events received since the previous report. */
  readonly resyncs: number;
  /** Send → receive, µs, a {@link LatencyHistogram} encoded. */
  readonly histogram: string;
  /** The change's `committedAt` → receive, µs, a {@link LatencyHistogram} encoded. */
  readonly commitHistogram: string;
  /** Clients that received at least one change of the phase (tells a silent device from a lost change). */
  readonly receivingClients: number;
  /** µs since the epoch; 0 when nothing arrived. */
  readonly firstReceiveMicros: number;
  readonly lastReceiveMicros: number;
}

/** What one client received of one stream in one phase. */
interface StreamSeen {
  readonly seqs: Set<number>;
  highest: number;
}

interface PhaseTally {
  /** Send (INSERT issued, or emit called) → receive. */
  readonly latency: LatencyHistogram;
  /** The change's `committedAt` → receive. */
  readonly commitLatency: LatencyHistogram;
  /** Per client: per stream, what it already had. */
  readonly seen: Map<number, Map<string, StreamSeen>>;
  distinct: number;
  duplicated: number;
  outOfOrder: number;
  firstReceiveMicros: number;
  lastReceiveMicros: number;
}

/**
 * What the clients of one process received, per load phase (read from the message body, so a
 * delivery that arrives late is still counted in the phase that sent it). A delivery whose
 * (stream, seq) the same client already had is a duplicate and is not counted as received; one
 * whose seq is below the highest the client had of that stream is out of order (and counted).
 * One that arrives after its phase was reported is late: counted apart, in the next report.
 */
export class DeliveryTallies {
  private readonly phases = new Map<number, PhaseTally>();
  private readonly reported = new Set<number>();
  private late = 0;
  private resyncs = 0;
  disconnects = 0;

  /** Counts a `resync_required` a client received (the gateway gave up on a stream). */
  recordResync(): void {
    this.resyncs++;
  }

  /** Counts one change received by client `clientIndex` at `receivedAtMicros`. */
  record(clientIndex: number, change: ChangeEvent, receivedAtMicros: number): void {
    if (!isChangeOf(change, 'message')) return;
    const stamp = decodeBody(change.data.body);
    if (!stamp) return;
    if (this.reported.has(stamp.phase)) {
      this.late++;
      return;
    }
    const tally = this.phase(stamp.phase);
    let streams = tally.seen.get(clientIndex);
    if (!streams) {
      streams = new Map();
      tally.seen.set(clientIndex, streams);
    }
    let seen = streams.get(change.stream);
    if (!seen) {
      seen = { seqs: new Set(), highest: 0 };
      streams.set(change.stream, seen);
    }
    if (seen.seqs.has(change.seq)) {
      tally.duplicated++;
      return;
    }
    seen.seqs.add(change.seq);
    if (change.seq < seen.highest) tally.outOfOrder++;
    else seen.highest = change.seq;
    tally.distinct++;
    tally.latency.record(receivedAtMicros - stamp.sentAtMicros);
    tally.commitLatency.record(receivedAtMicros - Date.parse(change.committedAt) * 1000);
    if (tally.firstReceiveMicros === 0) tally.firstReceiveMicros = receivedAtMicros;
    tally.lastReceiveMicros = receivedAtMicros;
  }

  progress(phase: number): PhaseProgress {
    const tally = this.phases.get(phase);
    return {
      distinct: tally?.distinct ?? 0,
      duplicated: tally?.duplicated ?? 0,
      outOfOrder: tally?.outOfOrder ?? 0,
      disconnects: this.disconnects,
    };
  }

  /**
   * The phase's report; the phase is forgotten (its seen-sets are the bulk of the memory). Late
   * deliveries and resyncs count since the previous report.
   */
  report(phase: number): TallyReport {
    const tally = this.phase(phase);
    const progress = this.progress(phase);
    this.phases.delete(phase);
    this.reported.add(phase);
    const { late, resyncs } = this;
    this.late = 0;
    this.resyncs = 0;
    return {
      ...progress,
      lateDeliveries: late,
      resyncs,
      histogram: tally.latency.encode(),
      commitHistogram: tally.commitLatency.encode(),
      receivingClients: tally.seen.size,
      firstReceiveMicros: tally.firstReceiveMicros,
      lastReceiveMicros: tally.lastReceiveMicros,
    };
  }

  private phase(phase: number): PhaseTally {
    let tally = this.phases.get(phase);
    if (!tally) {
      tally = {
        latency: LatencyHistogram.empty(),
        commitLatency: LatencyHistogram.empty(),
        seen: new Map(),
        distinct: 0,
        duplicated: 0,
        outOfOrder: 0,
        firstReceiveMicros: 0,
        lastReceiveMicros: 0,
      };
      this.phases.set(phase, tally);
    }
    return tally;
  }
}
