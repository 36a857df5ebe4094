import { readStreamPositions, type Database } from '@ccs/db';
import { EVENTS } from '@ccs/protocol';
import type { GatewayMetrics } from './gateway-metrics.js';
import type { GatewaySocket } from './gateway-socket.js';
import type { SessionEnd } from './local-sessions.js';

/** How long a dropped slow consumer may take to read what was queued before it is cut off. */
const SLOW_CONSUMER_GRACE_MS = 5000;

/** Tells the socket why its session ends (`session_ended`), then disconnects it. */
export function endSession(
  socket: GatewaySocket,
  end: SessionEnd,
  metrics: GatewayMetrics | undefined,
): void {
  if (socket.disconnected) return;
  metrics?.sessionsEnded.inc({ reason: end.reason });
  socket.emit(EVENTS.sessionEnded, end);
  socket.disconnect(true);
}

/**
 * A socket that does not read what it is sent: it leaves its rooms at once (nothing more piles
 * up), is told to resync each stream (`resync_required { reason: 'slow_consumer', head }`) and
 * why, and is disconnected; what it was sent and did not read is dropped after
 * {@link SLOW_CONSUMER_GRACE_MS}.
 */
export async function dropSlowConsumer(
  socket: GatewaySocket,
  db: Database,
  limitBytes: number,
  metrics: GatewayMetrics | undefined,
): Promise<void> {
  if (socket.disconnected) return;
  const streams = [...socket.data.subscriptions.keys()];
  for (const stream of streams) void socket.leave(stream);
  const positions = await readStreamPositions(db, streams).catch(() => undefined);
  for (const stream of streams) {
    const head = positions?.get(stream)?.head ?? 0;
    socket.emit(EVENTS.resyncRequired, { stream, reason: 'slow_consumer', head });
  }
  const end: SessionEnd = {
    reason: 'slow_consumer',
    message: `over ${limitBytes} bytes waited to be written to this socket; reconnect and resume`,
  };
  endSession(socket, end, metrics);
  // A client still reading gets what is queued, the reasons last; one that does not is cut.
  setTimeout(() => socket.conn.close(true), SLOW_CONSUMER_GRACE_MS).unref();
}
