import type { ClientToServerEvents, ServerToClientEvents } from '@ccs/protocol';
import { io, type Socket } from 'socket.io-client';
import type { RecordedEvent } from './recorded-event.js';
import { WaitForTimeoutError } from './wait-for-timeout-error.js';

/** Options of {@link TestClient}. */
export interface TestClientOptions {
  /** Server URL, e.g. `http://127.0.0.1:3000`. */
  readonly url: string;
  /** Device token for the handshake. */
  readonly token: string;
  /** Reconnect automatically after a drop. @default false */
  readonly reconnection?: boolean;
  /** Connect timeout. @default 5000 */
  readonly timeoutMs?: number;
}

/** Options of {@link TestClient.waitFor}. */
export interface WaitForOptions<Args extends unknown[]> {
  /** Only an event whose arguments satisfy this counts. */
  readonly predicate?: (...args: Args) => boolean;
  /** @default 5000 */
  readonly timeout?: number;
}

type InEvent = keyof ServerToClientEvents;
type InArgs<E extends InEvent> = Parameters<ServerToClientEvents[E]>;
type OutEvent = keyof ClientToServerEvents;
type OutPayload<E extends OutEvent> = Parameters<ClientToServerEvents[E]>[0];
type OutAck<E extends OutEvent> = Parameters<Parameters<ClientToServerEvents[E]>[1]>[0];

/**
 * A socket.io client for tests: records every event in and out with its time, and waits for
 * events without sleeping. Websocket transport only; no auto-reconnect unless asked.
 *
 * @example
 * const client = await TestClient.connect({ url, token });
 * await client.emitWithAck('subscribe', { stream });
 * const change = await client.waitFor('change', { predicate: (c) => c.seq === 1 });
 */
export class TestClient {
  readonly socket: Socket<ServerToClientEvents, ClientToServerEvents>;
  private readonly recorded: RecordedEvent[] = [];
  private readonly waiters = new Set<() => void>();

  constructor(private readonly options: TestClientOptions) {
    this.socket = io(options.url, {
      auth: { token: options.token },
      transports: ['websocket'],
      reconnection: options.reconnection ?? false,
      timeout: options.timeoutMs ?? 5000,
      autoConnect: false,
      forceNew: true,
    });
    this.socket.onAny((event: string, ...args: unknown[]) => this.record('in', event, args));
  }

  /** Creates a client and resolves once it is connected; rejects with the server's error. */
  static async connect(options: TestClientOptions): Promise<TestClient> {
    const client = new TestClient(options);
    await client.open();
    return client;
  }

  /** Connects; rejects with the `connect_error` (its `data` carries the server's code). */
  open(): Promise<void> {
    return new Promise((resolve, reject) => {
      const onConnect = (): void => {
        this.socket.off('connect_error', onError);
        resolve();
      };
      const onError = (error: Error): void => {
        this.socket.off('connect', onConnect);
        reject(error);
      };
      this.socket.once('connect', onConnect);
      this.socket.once('connect_error', onError);
      this.socket.connect();
    });
  }

  /** Every event sent and received so far, oldest first. */
  get history(): readonly RecordedEvent[] {
    return this.recorded;
  }

  /** Arguments of every received `event` so far. */
  received<E extends InEvent>(event: E): InArgs<E>[] {
    return this.recorded
      .filter((entry) => entry.direction === 'in' && entry.event === event)
      .map((entry) => entry.args as InArgs<E>);
  }

  /** Emits with an ack and resolves with the ack (timeout: 5 s). */
  async emitWithAck<E extends OutEvent>(event: E, payload: OutPayload<E>): Promise<OutAck<E>> {
    this.record('out', event, [payload]);
    // socket.io's typed emitWithAck cannot take an event name that is a type parameter.
    const socket = this.socket.timeout(5000) as unknown as {
      emitWithAck(event: string, payload: unknown): Promise<OutAck<E>>;
    };
    return socket.emitWithAck(event, payload);
  }

  /**
   * Resolves with the arguments of the first `event` (already received or still to come) that
   * satisfies the predicate; rejects with a {@link WaitForTimeoutError} listing what arrived.
   */
  waitFor<E extends InEvent>(
    event: E,
    options: WaitForOptions<InArgs<E>> = {},
  ): Promise<InArgs<E>> {
    const timeout = options.timeout ?? 5000;
    const find = (): InArgs<E> | undefined =>
      this.received(event).find((args) => options.predicate?.(...args) ?? true);
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const found = find();
        if (found) {
          clearTimeout(timer);
          this.waiters.delete(check);
          resolve(found);
        }
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new WaitForTimeoutError(event, timeout, this.recorded));
      }, timeout);
      this.waiters.add(check);
      check();
    });
  }

  /** Resolves once `count` events of `event` (matching the predicate) have arrived. */
  async waitForCount<E extends InEvent>(
    event: E,
    count: number,
    options: WaitForOptions<InArgs<E>> = {},
  ): Promise<InArgs<E>[]> {
    const matching = (): InArgs<E>[] =>
      this.received(event).filter((args) => options.predicate?.(...args) ?? true);
    await this.waitFor(event, { ...options, predicate: () => matching().length >= count });
    return matching();
  }

  /** Disconnects and forgets pending waits. */
  close(): void {
    this.socket.disconnect();
  }

  private record(direction: 'in' | 'out', event: string, args: unknown[]): void {
    this.recorded.push({ direction, event, args, at: Date.now() });
    for (const waiter of [...this.waiters]) waiter();
  }
}
