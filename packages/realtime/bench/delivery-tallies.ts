import { isChangeOf, type ChangeEvent } from '@ccs/protocol';
import type { PhaseProgress, TallyReport } from './bench-ipc.js';
import { LatencyRecorder } from './latency-recorder.js';
import { decodeBody } from './message-body.js';

interface PhaseTally {
  readonly latency: LatencyRecorder;
  /** Per client: per stream, the seqs it already had. */
  readonly seen: Map<number, Map<string, Set<number>>>;
  distinct: number;
  duplicated: number;
  firstReceiveMicros: number;
  lastReceiveMicros: number;
}

/**
 * What the clients of one process received, per load phase (read from the message body, so a
 * delivery that arrives late is still counted in the phase that sent it). A delivery whose
 * (stream, seq) the same client already had is a duplicate and is not counted as received.
 */
export class DeliveryTallies {
  private readonly phases = new Map<number, PhaseTally>();
  disconnects = 0;

  /** Counts one `change` received by client `clientIndex` at `receivedAtMicros`. */
  record(clientIndex: number, change: ChangeEvent, receivedAtMicros: number): void {
    if (!isChangeOf(change, 'message')) return;
    const stamp = decodeBody(change.data.body);
    if (!stamp) return;
    const tally = this.phase(stamp.phase);
    let streams = tally.seen.get(clientIndex);
    if (!streams) {
      streams = new Map();
      tally.seen.set(clientIndex, streams);
    }
    let seqs = streams.get(change.stream);
    if (!seqs) {
      seqs = new Set();
      streams.set(change.stream, seqs);
    }
    if (seqs.has(change.seq)) {
      tally.duplicated++;
      return;
    }
    seqs.add(change.seq);
    tally.distinct++;
    tally.latency.record(receivedAtMicros - stamp.sentAtMicros);
    if (tally.firstReceiveMicros === 0) tally.firstReceiveMicros = receivedAtMicros;
    tally.lastReceiveMicros = receivedAtMicros;
  }

  progress(phase: number): PhaseProgress {
    const tally = this.phases.get(phase);
    return {
      distinct: tally?.distinct ?? 0,
      duplicated: tally?.duplicated ?? 0,
      disconnects: this.disconnects,
    };
  }

  /** The phase's report; the phase is forgotten (its seen-sets are the bulk of the memory). */
  report(phase: number): TallyReport {
    const tally = this.phase(phase);
    this.phases.delete(phase);
    return {
      ...this.progress(phase),
      distinct: tally.distinct,
      duplicated: tally.duplicated,
      histogram: tally.latency.encode(),
      firstReceiveMicros: tally.firstReceiveMicros,
      lastReceiveMicros: tally.lastReceiveMicros,
    };
  }

  private phase(phase: number): PhaseTally {
    let tally = this.phases.get(phase);
    if (!tally) {
      tally = {
        latency: LatencyRecorder.empty(),
        seen: new Map(),
        distinct: 0,
        duplicated: 0,
        firstReceiveMicros: 0,
        lastReceiveMicros: 0,
      };
      this.phases.set(phase, tally);
    }
    return tally;
  }
}
