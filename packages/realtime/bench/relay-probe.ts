import { isChangeOf } from '@ccs/protocol';
import { ChangeRelay } from '../src/change-relay.js';
import type { RelayDeps } from '../src/gateway.js';
import type { StreamRelay } from '../src/stream-relay.js';
import type { RelayTuning, ServerPhaseStats } from './bench-ipc.js';
import { LatencyRecorder } from './latency-recorder.js';
import { decodeBody, nowMicros } from './message-body.js';

/**
 * Diagnostics only (`--probe-relay`): the gateway's own {@link ChangeRelay}, built through
 * `createRelay` with its broadcast wrapped, to split CCS latency into "INSERT issued → relay
 * broadcasts" (commit, the relay's tail read) and what follows (socket.io to the clients). It
 * also counts broadcasts, which shows how many changes one read hands a room.
 */
export class RelayProbe {
  private latency = LatencyRecorder.empty();
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
      issueToBroadcast: this.latency.summary(),
    };
    this.latency = LatencyRecorder.empty();
    this.broadcasts = 0;
    this.changes = 0;
    return taken;
  }
}
