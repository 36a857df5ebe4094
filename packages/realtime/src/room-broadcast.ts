import { EVENTS, type ChangeEvent, type StreamName } from '@ccs/protocol';
import { accessLostBy } from './access-changes.js';
import { changeFrames } from './change-frames.js';
import type { ChangeTracing } from './change-tracing.js';
import type { GatewayMetrics } from './gateway-metrics.js';
import { forgetReceived, type GatewayServer } from './gateway-socket.js';
import type { RecentCommits } from './recent-commits.js';
import type { BroadcastChanges } from './stream-relay.js';

/** Options of {@link createRoomBroadcast}. */
export interface RoomBroadcastOptions {
  /** Send a read's changes of a room as frames (`true`) or one frame per change. */
  readonly coalesce: boolean;
  /** Frames are cut at about this size. */
  readonly maxFrameBytes: number;
  readonly metrics: GatewayMetrics | undefined;
  /** Where the commit times of delivered changes are kept, for `changes:received` (if anywhere). */
  readonly recentCommits: RecentCommits | undefined;
  readonly tracing: ChangeTracing | undefined;
}

/**
 * What the relay calls to deliver a stream's changes to the room of its local subscribers. A
 * change that takes a user's access away is the last of the stream that user is sent: the room's
 * changes are emitted up to it, the user's sockets leave the room and are told `unsubscribed`,
 * and the rest goes to the others.
 */
export function createRoomBroadcast(
  io: GatewayServer,
  options: RoomBroadcastOptions,
): BroadcastChanges {
  const { metrics } = options;
  const emitToRoom = (stream: StreamName, changes: readonly ChangeEvent[]): void => {
    const room = io.local.to(stream);
    if (!options.coalesce) for (const change of changes) room.emit(EVENTS.changes, [change]);
    else {
      for (const frame of changeFrames(changes, options.maxFrameBytes)) {
        room.emit(EVENTS.changes, frame);
      }
    }
    const emit = options.tracing?.emit(
      stream,
      changes,
      io.sockets.adapter.rooms.get(stream)?.size ?? 0,
    );
    options.recentCommits?.record(stream, changes, emit);
    if (metrics) recordDelivery(io, stream, changes, metrics);
  };

  /** The user (every user when undefined) leaves `stream` on this node, told why. */
  const revokeStream = (stream: StreamName, userId: string | undefined): void => {
    const members = io.sockets.adapter.rooms.get(stream);
    for (const id of members ? [...members] : []) {
      const socket = io.sockets.sockets.get(id);
      if (!socket || (userId !== undefined && socket.data.userId !== userId)) continue;
      socket.data.subscriptions.get(stream)?.release();
      socket.data.subscriptions.delete(stream);
      forgetReceived(socket.data, stream);
      void socket.leave(stream);
      socket.emit(EVENTS.unsubscribed, { stream, reason: 'access_revoked' });
      metrics?.subscriptionsRevoked.inc();
    }
  };

  return (stream, changes) => {
    let from = 0;
    changes.forEach((change, index) => {
      const loss = accessLostBy(change);
      if (loss?.scope !== 'stream' || loss.stream !== stream) return;
      emitToRoom(stream, changes.slice(from, index + 1));
      revokeStream(stream, loss.userId);
      from = index + 1;
    });
    if (from < changes.length) emitToRoom(stream, from === 0 ? changes : changes.slice(from));
  };
}

function recordDelivery(
  io: GatewayServer,
  stream: StreamName,
  changes: readonly ChangeEvent[],
  metrics: GatewayMetrics,
): void {
  const now = Date.now();
  for (const change of changes) {
    metrics.commitToEmitSeconds.observe((now - Date.parse(change.committedAt)) / 1000);
  }
  const receivers = io.sockets.adapter.rooms.get(stream)?.size ?? 0;
  metrics.changesDelivered.inc(receivers * changes.length);
}
