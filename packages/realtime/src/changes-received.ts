import { changesReceivedPayloadSchema, type StreamName } from '@ccs/protocol';
import type { ChangeTracing } from './change-tracing.js';
import type { GatewayMetrics } from './gateway-metrics.js';
import type { GatewaySocket } from './gateway-socket.js';
import { eventHandler, type EventHandler } from './inbound-events.js';
import type { RecentCommits } from './recent-commits.js';

/**
 * `changes:received`: a device says the highest seq it holds of streams it subscribes to. The
 * gateway keeps it in `socket.data.received` (what operators see as the subscriber's lag) and
 * times it from the change's commit to the device's receipt (`heldMs` before the report). It may
 * come without an ack, and then is not answered (devices send it often; an answer would double
 * its cost). Streams the socket does not subscribe to (it may have just
 * left one) and seqs not above the last one told are ignored; nothing about delivery changes.
 */
export function changesReceivedHandler(
  recent: RecentCommits | undefined,
  metrics: GatewayMetrics | undefined,
  tracing: ChangeTracing | undefined,
): EventHandler {
  const handler = eventHandler(
    changesReceivedPayloadSchema,
    async ({ streams, heldMs }, socket: GatewaySocket) => {
      const now = Date.now();
      socket.data.reportedAt = now;
      const received = socket.data.received;
      for (const [name, seq] of Object.entries(streams)) {
        const stream = name as StreamName;
        if (!socket.data.subscriptions.has(stream)) continue;
        const before = received[stream];
        if (before !== undefined && seq <= before) continue;
        received[stream] = seq;
        const commit = recent?.find(stream, seq);
        // Timed to when the device got it: the report itself may leave a little later.
        const receivedAt = now - (heldMs?.[stream] ?? 0);
        const commitToAckMs = commit && Math.max(0, receivedAt - commit.committedAt);
        if (commitToAckMs !== undefined) {
          metrics?.commitToDeviceAckSeconds.observe(commitToAckMs / 1000);
        }
        tracing?.deviceAck(stream, seq, socket.data.deviceId, commit?.emit, commitToAckMs);
      }
      return {};
    },
  );
  return { ...handler, unanswered: true };
}
