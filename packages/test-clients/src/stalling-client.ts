import { EVENTS } from '@ccs/protocol';
import WebSocket from 'ws';

/** socket.io v4 packet types (the digit after engine.io's `4` message type). */
const SIO = { connect: '0', disconnect: '1', event: '2', ack: '3', connectError: '4' } as const;

/** One socket.io ack, as the server sent it. */
type AckPayload = unknown[];

/** A server event a {@link StallingClient} received: its name and payload. */
export interface StallingClientEvent {
  readonly event: string;
  readonly payload: unknown;
}

/**
 * A socket.io v4 client over a bare `ws` WebSocket (engine.io protocol 4, websocket transport,
 * default namespace, text packets only): enough to authenticate, subscribe and receive
 * `changes`. Unlike socket.io-client, it can stop reading its TCP socket ({@link pause}): a slow
 * consumer, or a stuck phone, as the server sees one. It keeps counts, not history, of
 * `changes`, so that thousands of them cost nothing; other events are kept in {@link events}.
 *
 * @example
 * const stuck = await StallingClient.connect(url, token, 5000);
 * await stuck.emitWithAck('subscribe', { stream }, 5000);
 * stuck.pause(); // …the server should drop it as a slow consumer
 * stuck.resume();
 * await stuck.waitForEvent('session_ended', 5000);
 */
export class StallingClient {
  changes = 0;
  bytes = 0;
  lastSeq = 0;
  sessionEnded: string | null = null;
  readonly resyncRequired: string[] = [];
  /** Every event but `changes`, in arrival order. */
  readonly events: StallingClientEvent[] = [];
  private readonly eventWaiters = new Set<() => void>();
  disconnectedByServer = false;
  closeCode: number | null = null;
  private nextAckId = 0;
  private readonly acks = new Map<number, (payload: AckPayload) => void>();
  private connected: (() => void) | undefined;
  private refused: ((error: Error) => void) | undefined;

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data: WebSocket.RawData, isBinary: boolean) => {
      if (isBinary) return;
      const text = data.toString();
      this.bytes += text.length;
      this.onPacket(text);
    });
    ws.on('close', (code) => {
      this.closeCode = code;
      this.disconnectedByServer = true;
      this.refused?.(new Error(`closed (${code}) before the socket.io connect`));
    });
    ws.on('error', () => undefined);
  }

  /** Opens the WebSocket and connects to the default namespace with `auth: { token }`. */
  static async connect(url: string, token: string, timeoutMs: number): Promise<StallingClient> {
    const target = new URL('/socket.io/?EIO=4&transport=websocket', url);
    target.protocol = target.protocol === 'https:' ? 'wss:' : 'ws:';
    const socket = new StallingClient(new WebSocket(target, { perMessageDeflate: false }));
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        socket.connected = resolve;
        socket.refused = reject;
        socket.ws.once('open', () => socket.ws.send(`4${SIO.connect}${JSON.stringify({ token })}`));
      }),
      timeoutMs,
      'socket.io connect',
    );
    return socket;
  }

  /** Emits `event` with one payload and resolves with the ack's first argument. */
  emitWithAck(event: string, payload: unknown, timeoutMs: number): Promise<unknown> {
    const id = this.nextAckId++;
    const answered = new Promise<unknown>((resolve) =>
      this.acks.set(id, (args) => resolve(args[0])),
    );
    this.ws.send(`4${SIO.event}${id}${JSON.stringify([event, payload])}`);
    return withTimeout(answered, timeoutMs, `${event} ack`);
  }

  /** Resolves with the payload of the first `event` (already received or to come). */
  waitForEvent(event: string, timeoutMs: number): Promise<unknown> {
    let check: () => void = () => undefined;
    const found = new Promise<unknown>((resolve) => {
      check = () => {
        const match = this.events.find((entry) => entry.event === event);
        if (!match) return;
        this.eventWaiters.delete(check);
        resolve(match.payload);
      };
      this.eventWaiters.add(check);
      check();
    });
    return withTimeout(found, timeoutMs, `"${event}"`).finally(() =>
      this.eventWaiters.delete(check),
    );
  }

  /** Stops reading the socket: what the server sends piles up in the kernel, then the server. */
  pause(): void {
    this.ws.pause();
  }

  resume(): void {
    this.ws.resume();
  }

  close(): void {
    this.ws.terminate();
  }

  private onPacket(text: string): void {
    switch (text[0]) {
      case '2': // engine.io ping: answer, or the server closes the connection
        this.ws.send('3');
        return;
      case '1':
        this.disconnectedByServer = true;
        return;
      case '4':
        this.onSocketIoPacket(text[1], text.slice(2));
        return;
      default: // '0' open, '6' noop
        return;
    }
  }

  private onSocketIoPacket(type: string | undefined, rest: string): void {
    if (type === SIO.connect) {
      this.connected?.();
    } else if (type === SIO.connectError) {
      this.refused?.(new Error(`connect_error ${rest}`));
    } else if (type === SIO.disconnect) {
      this.disconnectedByServer = true;
    } else if (type === SIO.ack) {
      const start = rest.indexOf('[');
      const id = Number(rest.slice(0, start));
      const resolve = this.acks.get(id);
      this.acks.delete(id);
      resolve?.(JSON.parse(rest.slice(start)) as AckPayload);
    } else if (type === SIO.event) {
      this.onEvent(JSON.parse(rest.slice(rest.indexOf('['))) as unknown[]);
    }
  }

  private onEvent([event, payload]: unknown[]): void {
    if (typeof event === 'string' && event !== EVENTS.changes) {
      this.events.push({ event, payload });
      for (const waiter of [...this.eventWaiters]) waiter();
    }
    if (event === 'changes' && Array.isArray(payload)) {
      this.changes += payload.length;
      const last: unknown = payload[payload.length - 1];
      if (isObject(last) && typeof last.seq === 'number') this.lastSeq = last.seq;
    } else if (event === 'session_ended' && isObject(payload)) {
      this.sessionEnded = String(payload.reason);
    } else if (event === 'resync_required' && isObject(payload)) {
      this.resyncRequired.push(String(payload.reason));
    }
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/** `promise`, or a rejection naming `what` once `ms` passed; leaves nothing pending behind. */
function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}
