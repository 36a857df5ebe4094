import { isChangeOf } from '@ccs/protocol';
import { ChangeRelay, type RelayDeps, type StreamRelay } from '@ccs/realtime';
import { LatencyHistogram } from '@ccs/test-clients';
import { decodeBody, nowMicros } from '../measure/message-body.js';
import type { RelayTuning, ServerPhaseStats } from './bench-ipc.js';
import { latencySummary } from './latency-summary.js';

/**
 * Diagnostics only (`--probe-relay`): the gateway's own {@link ChangeRelay}, built through
 * `createRelay` with its broadcast wrapped, to split CCS latency into "INSERT issued → relay
 * broadcasts" (commit, the relay's tail read) and what follows (socket.io to the clients). It
 * also counts broadcasts, which shows how many changes one read hands a room.
 */
export class RelayProbe {
  private latency = LatencyHistogram.empty();
  private broadcasts = 0;
  private changes = 0;

  /** A `createRelay` for `startGateway`, with the relay options the bench was given. */
  factory(options: RelayTuning) {
    // Framing (`coalesce`) is the gateway's: it lives in the broadcast this wraps.
    const { busyTickMs, idleTickMs, batchSize } = options;
    const tuning = { busyTickMs, idleTickMs, batchSize };
    return (deps: RelayDeps): StreamRelay =>
      new ChangeRelay({
        ...deps,
        ...tuning,
        broadcast: (stream, changes) => {
          const now = nowMicros();
          this.broadcasts++;
          this.changes += changes.length;
          for (const change of changes) {
            const stamp = isChangeOf(change, 'message') ? decodeBody(change.data.body) : undefined;
            if (stamp) this.latency.record(now - stamp.sentAtMicros);
          }
          deps.broadcast(stream, changes);
        },
      });
  }

  /** What was probed since the previous call. */
  take(): NonNullable<ServerPhaseStats['relay']> {
    const taken = {
      broadcasts: this.broadcasts,
      changes: this.changes,
      issueToBroadcast: latencySummary(this.latency),
    };
    this.latency = LatencyHistogram.empty();
    this.broadcasts = 0;
    this.changes = 0;
    return taken;
  }
}
