import { setTimeout as sleep } from 'node:timers/promises';
import type { Socket } from 'socket.io';

/** A packet as engine.io queues it; `data` is the encoded socket.io packet. */
interface EnginePacket {
  readonly data?: unknown;
}

/** The part of engine.io's WebSocket transport we read: its `ws` socket's `bufferedAmount`. */
interface TransportWithSocket {
  readonly name: string;
  readonly socket?: { readonly bufferedAmount?: unknown };
}

/** How often {@link OutboundBuffer.room} looks again while the socket's buffer drains. */
const DRAIN_POLL_MS = 5;

/** A replay waiting this many graces without the socket draining a byte has stalled. */
const STALL_GRACES = 5;

/**
 * Counts what a socket has been sent and not yet written to the network: packets engine.io
 * queued (a WebSocket whose writes have not completed, a long-polling client between two GETs)
 * plus what the WebSocket itself buffered. When more than `limitBytes` wait for longer than
 * `graceMs` (a burst a reading client drains in time does not count), `onOverflow` is called,
 * once. Sizes are of encoded packets, in UTF-16 code units for text.
 */
export class OutboundBuffer<S extends Socket = Socket> {
  private queued = 0;
  private overflowedOnce = false;
  /** Armed while over the limit: fires `graceMs` after the limit was crossed. */
  private graceTimer: NodeJS.Timeout | undefined;
  private readonly onPacket = this.packetCreated.bind(this);
  private readonly onFlush = this.flushed.bind(this);

  constructor(
    private readonly socket: S,
    private readonly limitBytes: number,
    private readonly graceMs: number,
    private readonly onOverflow: (socket: S) => void,
  ) {
    socket.conn.on('packetCreate', this.onPacket);
    socket.conn.on('flush', this.onFlush);
  }

  /** Stops counting (the socket disconnected). */
  close(): void {
    clearTimeout(this.graceTimer);
    this.socket.conn.off('packetCreate', this.onPacket);
    this.socket.conn.off('flush', this.onFlush);
  }

  private packetCreated(packet: EnginePacket): void {
    this.queued += sizeOf(packet.data);
    if (this.graceTimer || this.overflowedOnce || this.waiting <= this.limitBytes) return;
    this.graceTimer = setTimeout(() => {
      this.graceTimer = undefined;
      if (this.waiting > this.limitBytes) this.overflow();
    }, this.graceMs);
  }

  private flushed(packets: readonly EnginePacket[]): void {
    for (const packet of packets) this.queued -= sizeOf(packet.data);
  }

  /** Bytes sent to this socket that have not reached the network yet. */
  get waiting(): number {
    const transport = this.socket.conn.transport as unknown as TransportWithSocket;
    const buffered = transport.name === 'websocket' ? transport.socket?.bufferedAmount : 0;
    return this.queued + (typeof buffered === 'number' ? buffered : 0);
  }

  /** Whether the socket was found too slow (`onOverflow` was called). */
  get overflowed(): boolean {
    return this.overflowedOnce;
  }

  /**
   * Resolves once at most half the limit waits (or the socket is gone): a long replay is sent
   * at the pace the client reads it, instead of being dropped as a slow consumer. A socket that
   * drains nothing for {@link STALL_GRACES} graces meanwhile is a slow consumer all the same.
   */
  async room(): Promise<void> {
    let lowest = this.waiting;
    let progressAt = Date.now();
    while (this.socket.connected && !this.overflowedOnce && this.waiting > this.limitBytes / 2) {
      await sleep(DRAIN_POLL_MS);
      if (this.waiting < lowest) {
        lowest = this.waiting;
        progressAt = Date.now();
      } else if (Date.now() - progressAt > STALL_GRACES * this.graceMs) {
        this.overflow();
      }
    }
  }

  private overflow(): void {
    if (this.overflowedOnce || !this.socket.connected) return;
    this.overflowedOnce = true;
    this.onOverflow(this.socket);
  }
}

function sizeOf(data: unknown): number {
  if (typeof data === 'string') return data.length;
  if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) return data.byteLength;
  return 0;
}
