import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type {
  ChangeEvent,
  ClientToServerEvents,
  ServerToClientEvents,
  StreamName,
} from '@ccs/protocol';
import { Server } from 'socket.io';

/** The stream every scripted server serves. */
export const stream: StreamName = 'conversation:0b6d4c1e-8a43-4d4e-9a3b-2f1d8c7e6a5b';

/** A token the scripted server refuses with `connect_error` data `{ code: 'unauthorized' }`. */
export const BAD_TOKEN = 'bad';

/** What a subscribe is answered with. */
export interface SubscribeContext {
  readonly token: string;
  readonly since: number | undefined;
}

export interface ScriptedServerOptions {
  /** Seqs emitted after a subscribe's ack. @default since+1 … head */
  readonly script?: (context: SubscribeContext) => readonly number[];
  /** The stream's head. @default 3 */
  readonly head?: number;
  /** How old each change is when emitted (its `committedAt` is that far back), in ms. @default 0 */
  readonly commitAgeMs?: number;
  /** How long each handshake is held, in ms, so that concurrent ones overlap. @default 0 */
  readonly handshakeDelayMs?: number;
  /** Subscribes to streams other than the scripted one are refused `forbidden`. @default false */
  readonly refuseOtherStreams?: boolean;
}

/** Handshakes the server saw: in flight now, the most at once, and in all. */
export interface HandshakeCounts {
  inFlight: number;
  max: number;
  total: number;
}

export interface ScriptedServer {
  readonly url: string;
  readonly io: Server<ClientToServerEvents, ServerToClientEvents>;
  readonly handshakes: HandshakeCounts;
  /** Emits change `seq` to every connected socket. */
  emitChange(seq: number): void;
  /** Resolves once no socket is connected (checked on each server-side disconnect). */
  untilNoSockets(): Promise<void>;
  /** Closes the server (like a crashed node, for its clients); a second call does nothing. */
  close(): Promise<void>;
}

/**
 * A real socket.io server on an ephemeral loopback port that plays a script: it answers
 * `subscribe` and `message:send`, never answers `unsubscribe` (to time an ack out), and emits
 * the changes the script says.
 */
export async function startScriptedServer(
  options: ScriptedServerOptions = {},
): Promise<ScriptedServer> {
  const head = options.head ?? 3;
  const script =
    options.script ??
    (({ since }: SubscribeContext) =>
      Array.from({ length: Math.max(0, head - (since ?? 0)) }, (_, i) => (since ?? 0) + i + 1));
  const makeChange = (seq: number): ChangeEvent =>
    change(seq, new Date(Date.now() - (options.commitAgeMs ?? 0)));
  const handshakes: HandshakeCounts = { inFlight: 0, max: 0, total: 0 };
  const http = createServer();
  const io = new Server<ClientToServerEvents, ServerToClientEvents>(http);
  io.use((socket, next) => {
    handshakes.total++;
    handshakes.max = Math.max(handshakes.max, ++handshakes.inFlight);
    setTimeout(() => {
      handshakes.inFlight--;
      if (socket.handshake.auth['token'] !== BAD_TOKEN) next();
      else next(Object.assign(new Error('bad token'), { data: { code: 'unauthorized' } }));
    }, options.handshakeDelayMs ?? 0);
  });
  const emptied = new Set<() => void>();
  io.on('connection', (socket) => {
    socket.on('disconnect', () => {
      if (io.of('/').sockets.size > 0) return;
      for (const resolve of emptied) resolve();
      emptied.clear();
    });
    const token = String(socket.handshake.auth['token']);
    socket.on('subscribe', (payload, ack) => {
      if (options.refuseOtherStreams && payload.stream !== stream) {
        ack({ ok: false, error: { code: 'forbidden', message: `not allowed: ${payload.stream}` } });
        return;
      }
      ack({ ok: true, head });
      // One frame, as the gateway replays: the client must unpack it in order.
      const seqs = [...script({ token, since: payload.since })];
      if (seqs.length > 0) socket.emit('changes', seqs.map(makeChange));
    });
    socket.on('message:send', (_payload, ack) => {
      ack({ ok: true, id: 'm-new', stream, seq: head + 1 });
    });
    socket.on('unsubscribe', () => undefined);
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  let closing: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`,
    io,
    handshakes,
    emitChange: (seq) => io.emit('changes', [makeChange(seq)]),
    untilNoSockets: () =>
      new Promise<void>((resolve) => {
        if (io.of('/').sockets.size === 0) resolve();
        else emptied.add(resolve);
      }),
    close: () => (closing ??= io.close()),
  };
}

/**
 * A change of {@link stream}. The toolkit reads only the envelope (`stream`, `seq`,
 * `committedAt`), so the data is a stand-in whatever `ChangeEvent`'s union of kinds becomes.
 */
export function change(seq: number, committedAt = new Date()): ChangeEvent {
  const at = committedAt.toISOString();
  const envelope = { stream, seq, kind: 'message.created', committedAt: at, writtenAt: at };
  return { ...envelope, data: { id: `m${seq}` } } as unknown as ChangeEvent;
}
