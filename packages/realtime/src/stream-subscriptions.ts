import { readStreamPosition, type Database } from '@ccs/db';
import {
  EVENTS,
  type ResyncReason,
  type StreamName,
  type SubscribePayload,
  type SubscribeResult,
} from '@ccs/protocol';
import { endsStreamAccess } from './access-changes.js';
import type { ReadAccess } from './access-reads.js';
import { changeFrames } from './change-frames.js';
import type { ResumeOutcome } from './gateway-metrics.js';
import { forgetReceived, type GatewaySocket } from './gateway-socket.js';
import type { OutboundBuffer } from './outbound-buffer.js';
import { RealtimeError } from './realtime-error.js';
import type { StreamRelay } from './stream-relay.js';

/** What {@link subscribeSocket} needs besides the socket. */
export interface SubscribeDeps {
  readonly relay: StreamRelay;
  /** Heads are read here (a pool apart from sends). */
  readonly authDb: Database;
  /** Reads membership and the head in one snapshot (batched with other subscribes). */
  readonly readAccess: ReadAccess;
  /** The socket's outbound buffer: a replay goes at the pace it drains. */
  readonly outbound: OutboundBuffer<GatewaySocket>;
  /** Replay frames are cut at about this size. */
  readonly maxFrameBytes: number;
  /** Told how each subscribe with `since` resumed, and of every resync a subscribe answers. */
  readonly onResume?: (outcome: ResumeOutcome) => void;
}

/**
 * Subscribes the socket to a stream: checks access, replays what it missed after `since` (at
 * the pace it reads), then joins the stream's room. Membership and the stream's head are read
 * in one snapshot, and every change after that head passes the subscriber's own check, so a
 * removal racing the subscribe is the last change the socket is sent (the ack is then
 * `forbidden`).
 */
export async function subscribeSocket(
  socket: GatewaySocket,
  { stream, since }: SubscribePayload,
  deps: SubscribeDeps,
): Promise<SubscribeResult> {
  const subscriptions = socket.data.subscriptions;
  if (subscriptions.has(stream)) {
    throw new RealtimeError('conflict', `already subscribed to ${stream}`);
  }
  const access = await deps.readAccess(stream, socket.data.userId);
  if (!access.allowed)
    throw new RealtimeError('forbidden', `not allowed to subscribe to ${stream}`);
  if (since !== undefined && since > access.head) {
    const committed = (await readStreamPosition(deps.authDb, stream)).head;
    if (since > committed) {
      deps.onResume?.({ outcome: 'resync', reason: 'since_ahead_of_head' });
      throw resync(socket, stream, since, 'since_ahead_of_head', committed);
    }
  }
  // The socket may have gone, or subscribed again, while authorisation was read.
  if (socket.disconnected) throw new RealtimeError('conflict', 'socket disconnected');
  if (subscriptions.has(stream)) {
    throw new RealtimeError('conflict', `already subscribed to ${stream}`);
  }
  let revoked = false;
  const { subscription, result } = deps.relay.attach(
    stream,
    Math.min(since ?? access.head, access.head),
    async (changes) => {
      if (revoked) return;
      const cut = changes.findIndex((change) =>
        endsStreamAccess(change, stream, socket.data.userId),
      );
      const allowed = cut === -1 ? changes : changes.slice(0, cut + 1);
      const wanted = since === undefined ? allowed : allowed.filter((c) => c.seq > since);
      for (const frame of changeFrames(wanted, deps.maxFrameBytes)) {
        await deps.outbound.room();
        if (socket.disconnected || deps.outbound.overflowed) return;
        socket.emit(EVENTS.changes, frame);
      }
      if (cut !== -1) {
        revoked = true;
        drop();
      }
    },
    () => void socket.join(stream),
  );
  subscriptions.set(stream, subscription);
  function drop(): void {
    if (subscriptions.get(stream) === subscription) {
      subscriptions.delete(stream);
      forgetReceived(socket.data, stream);
    }
    subscription.release();
  }
  const outcome = await result.catch((error: unknown) => {
    drop();
    throw error;
  });
  if (!outcome.ok) {
    drop();
    deps.onResume?.({ outcome: 'resync', reason: outcome.reason });
    throw resync(socket, stream, since, outcome.reason, outcome.head);
  }
  // Taken away during the replay, or by a live change between the join and this ack.
  if (revoked || subscriptions.get(stream) !== subscription) {
    throw new RealtimeError('forbidden', `access to ${stream} was taken away while subscribing`);
  }
  if (since !== undefined) deps.onResume?.({ outcome: 'replayed' });
  return { head: outcome.head };
}

/** Ends the socket's subscription to `stream`, if it has one. */
export async function unsubscribeSocket(socket: GatewaySocket, stream: StreamName): Promise<void> {
  const subscription = socket.data.subscriptions.get(stream);
  if (!subscription) return;
  socket.data.subscriptions.delete(stream);
  forgetReceived(socket.data, stream);
  subscription.release();
  await socket.leave(stream);
}

/** Tells the socket to refetch `stream`; the error is the subscribe's ack. */
function resync(
  socket: GatewaySocket,
  stream: StreamName,
  since: number | undefined,
  reason: ResyncReason,
  head: number,
): RealtimeError {
  socket.emit(EVENTS.resyncRequired, { stream, reason, head });
  return new RealtimeError(
    'conflict',
    `cannot resume ${stream} after seq ${since ?? 0} (${reason}); refetch the stream, then subscribe with since: ${head}`,
  );
}
