import { EVENTS, type ClientToServerEvents, type ServerToClientEvents } from '@ccs/protocol';
import { io, type Socket } from 'socket.io-client';
import type { ConnectionState, StateTransition } from './connection-state.js';
import { ClientClosedError } from './client-closed-error.js';
import { ConnectionStateMachine } from './connection-state-machine.js';
import type { EventDirection } from './recorded-event.js';

/** The socket a test client drives, typed by `@ccs/protocol`'s event maps. */
export type TestClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/** socket.io's reason for a disconnect, e.g. `io server disconnect` or `transport close`. */
export type DisconnectReason = Socket.DisconnectReason;

/** What {@link SocketConnection} needs: where, who, how to retry, and where traffic goes. */
export interface SocketConnectionOptions {
  readonly url: string;
  readonly token: string;
  readonly name: string;
  readonly reconnection: boolean;
  readonly reconnectionDelay: number;
  readonly reconnectionAttempts: number;
  readonly timeoutMs: number;
  readonly transport: 'websocket' | 'polling';
  readonly record: (direction: EventDirection, event: string, args: readonly unknown[]) => void;
}

/**
 * One client's socket.io connection over its lifetime: the socket (a new one after a move to
 * another server), the state machine it drives, and why it last dropped.
 */
export class SocketConnection {
  readonly machine: ConnectionStateMachine;
  private current: TestClientSocket;
  private unbind: () => void;
  private currentUrl: string;
  private currentToken: string;
  private lastDisconnectReason: DisconnectReason | undefined;
  private lastConnectError: Error | undefined;
  /** Rejects the open under way, if any (the client was closed first). */
  private abortOpen: (() => void) | undefined;

  constructor(private readonly options: SocketConnectionOptions) {
    this.machine = new ConnectionStateMachine(options.name);
    this.currentUrl = options.url;
    this.currentToken = options.token;
    this.current = this.createSocket(options.url, options.token);
    this.unbind = this.bind(this.current);
  }

  get socket(): TestClientSocket {
    return this.current;
  }

  get url(): string {
    return this.currentUrl;
  }

  get state(): ConnectionState {
    return this.machine.state;
  }

  get transitions(): readonly StateTransition[] {
    return this.machine.transitions;
  }

  get disconnectReason(): DisconnectReason | undefined {
    return this.lastDisconnectReason;
  }

  get connectError(): Error | undefined {
    return this.lastConnectError;
  }

  /** Connects; rejects with the `connect_error` (its `data` carries the server's code). */
  open(): Promise<void> {
    const socket = this.current;
    if (socket.connected) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onConnect = (): void => {
        socket.off('connect_error', onError);
        this.abortOpen = undefined;
        resolve();
      };
      const onError = (error: Error): void => {
        socket.off('connect', onConnect);
        this.abortOpen = undefined;
        // A failed open stops socket.io's retries, so no socket outlives the test.
        if (socket.active) {
          socket.disconnect();
          this.machine.transition('disconnected', `connect_error: ${error.message}`);
        }
        reject(error);
      };
      socket.once('connect', onConnect);
      socket.once('connect_error', onError);
      // Closed before the server answered: the open fails instead of waiting for ever.
      this.abortOpen = () => {
        socket.off('connect', onConnect);
        socket.off('connect_error', onError);
        this.abortOpen = undefined;
        reject(new ClientClosedError('the connection', this.options.name));
      };
      this.machine.transition('connecting');
      socket.connect();
    });
  }

  disconnect(): void {
    this.current.disconnect();
    this.abortOpen?.();
    // socket.io emits `disconnect` only for a connected socket; a pending handshake ends here.
    this.lastDisconnectReason = 'io client disconnect';
    this.machine.transition('disconnected', 'io client disconnect');
  }

  /** Disconnects if needed, then connects to `url` (a new socket if it changed) as `token`. */
  async reconnect(url: string, token: string): Promise<void> {
    if (this.state !== 'disconnected' && this.state !== 'idle') this.disconnect();
    if (url !== this.currentUrl) {
      this.unbind();
      this.current = this.createSocket(url, token);
      this.unbind = this.bind(this.current);
    } else {
      this.current.auth = { token };
    }
    this.currentUrl = url;
    this.currentToken = token;
    await this.open();
  }

  /** The token of the latest handshake. */
  get token(): string {
    return this.currentToken;
  }

  private createSocket(url: string, token: string): TestClientSocket {
    const { reconnection, reconnectionDelay, reconnectionAttempts, timeoutMs, transport } =
      this.options;
    return io(url, {
      auth: { token },
      transports: [transport],
      reconnection,
      reconnectionDelay,
      reconnectionDelayMax: Math.max(reconnectionDelay, 1000),
      reconnectionAttempts,
      timeout: timeoutMs,
      autoConnect: false,
      forceNew: true,
    });
  }

  /** Records the socket's traffic and drives the state machine; returns the undo. */
  private bind(socket: TestClientSocket): () => void {
    const { record, reconnection } = this.options;
    const retrying = (): boolean => reconnection && socket.active;
    const onIn = (event: string, ...args: unknown[]): void => {
      const [frame] = args;
      // A `changes` frame is recorded as one `change` per change (see TestClientServerEvents).
      if (event === EVENTS.changes && Array.isArray(frame)) {
        for (const change of frame) record('in', 'change', [change]);
      } else {
        record('in', event, args);
      }
    };
    const onOut = (event: string, ...args: unknown[]): void => record('out', event, args);
    const onConnect = (): void => this.machine.transition('connected');
    const onConnectError = (error: Error): void => {
      this.lastConnectError = error;
      if (!retrying()) this.machine.transition('disconnected', `connect_error: ${error.message}`);
    };
    const onDisconnect = (reason: DisconnectReason): void => {
      this.lastDisconnectReason = reason;
      this.machine.transition(retrying() ? 'reconnecting' : 'disconnected', reason);
    };
    const onGiveUp = (): void => this.machine.transition('disconnected', 'reconnect_failed');
    socket.onAny(onIn);
    socket.onAnyOutgoing(onOut);
    socket.on('connect', onConnect);
    socket.on('connect_error', onConnectError);
    socket.on('disconnect', onDisconnect);
    socket.io.on('reconnect_failed', onGiveUp);
    return () => {
      socket.offAny(onIn);
      socket.offAnyOutgoing(onOut);
      socket.off('connect', onConnect);
      socket.off('connect_error', onConnectError);
      socket.off('disconnect', onDisconnect);
      socket.io.off('reconnect_failed', onGiveUp);
    };
  }
}
