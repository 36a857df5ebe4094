import { randomUUID } from 'node:crypto';
import { EVENTS, type ChangeEvent, type StreamName } from '@ccs/protocol';
import type { GatewayServer } from '@ccs/realtime';
import { encodeBody, nowMicros } from '../measure/message-body.js';
import { runPacedLoop } from '../measure/paced-loop.js';
import { StreamRotation } from '../measure/stream-rotation.js';
import type { BareLoadParams, LoadSent } from './bench-ipc.js';

/**
 * The ceiling CCS is compared with: `io.to(room).emit('changes', [change])`, one emit per
 * message as a server without a database would send it, of changes shaped like the ones the
 * capture trigger produces (same keys, same body size), from the gateway's own process to the
 * sockets it already holds. Each room gets its own counter as `seq`, so clients count loss,
 * duplicates and order the same way as for CCS.
 */
export async function runBareLoad(io: GatewayServer, params: BareLoadParams): Promise<LoadSent> {
  const rooms = params.streams.map((stream) => ({
    stream,
    conversationId: stream.slice(stream.indexOf(':') + 1),
    authorId: randomUUID(),
    deviceId: randomUUID(),
    seq: 0,
  }));
  const rotation = new StreamRotation(rooms);
  const loop = await runPacedLoop({
    ratePerSec: params.writesPerSec,
    durationMs: params.durationMs,
    issue: (count) => {
      for (const [room, times] of rotation.take(count)) {
        for (let i = 0; i < times; i++) {
          room.seq++;
          const sentAtMicros = nowMicros();
          const sentAt = new Date(sentAtMicros / 1000).toISOString();
          const change: ChangeEvent<'message'> = {
            stream: room.stream,
            seq: room.seq,
            kind: 'message.created',
            data: {
              id: randomUUID(),
              conversationId: room.conversationId,
              authorId: room.authorId,
              deviceId: room.deviceId,
              clientId: `bench-${params.phase}-${room.seq}`,
              body: encodeBody({ phase: params.phase, sentAtMicros }, params.bodyBytes),
              seq: room.seq,
              createdAt: sentAt,
              editedAt: null,
              deletedAt: null,
            },
            committedAt: sentAt,
            writtenAt: sentAt,
          };
          io.to(room.stream).emit(EVENTS.changes, [change]);
        }
      }
    },
  });
  const sentPerStream: Record<StreamName, number> = {};
  for (const room of rooms) sentPerStream[room.stream] = room.seq;
  return { sentPerStream, elapsedMs: loop.elapsedMs, errors: 0 };
}
