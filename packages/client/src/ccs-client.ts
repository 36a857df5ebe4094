import { Emitter } from '@socket.io/component-emitter';
import {
  DEFAULT_RECEIVED_REPORT_MS,
  EVENTS,
  ReceivedReporter,
  type Ack,
  type ChangesFrame,
  type ClientToServerEvents,
  type ContentUploadResult,
  type HistoryPage,
  type PresenceEvent,
  type PresenceMember,
  type ServerToClientEvents,
  type SessionEndReason,
  type StreamName,
  type StreamSnapshot,
  type SubscribeResult,
  type TypingEvent,
  type WireError,
  type WriteEventName,
  type WritePayloads,
} from '@ccs/protocol';
import { io, type Socket } from 'socket.io-client';
import { ClientError } from './client-error.js';
import { Outbox, type OutboxEvents } from './outbox.js';
import { MemoryOutboxStorage, type OutboxStorage } from './outbox-storage.js';

import { RestApi } from './rest-api.js';
import { StreamSubscription, type StreamLink } from './stream-subscription.js';

/** Options of {@link createClient}. */
export interface ClientOptions {
  /** The sync-server's base URL, e.g. `http://127.0.0.1:3000` (socket.io and REST). */
  readonly url: string;
  /** A device token; give `getToken` instead to have it refreshed when it expires. */
  readonly token?: string;
  /** Called for a token at the first connect and whenever the server refuses or ends the last one. */
  readonly getToken?: () => Promise<string>;
  /** Where writes wait until acknowledged. @default memory */
  readonly storage?: OutboxStorage;
  /** Reconnect backoff: the first delay, doubled per failed attempt up to `maxDelayMs`, ± `jitter`. */
  readonly reconnect?: {
    readonly initialDelayMs?: number;
    readonly maxDelayMs?: number;
    /** Fraction of each delay drawn at random (0–1), so devices do not come back all at once. */
    readonly jitter?: number;
  };
  /** How long a request waits for its ack before it is retried. @default 10000 */
  readonly ackTimeoutMs?: number;
  /** @default ['websocket'] (long-polling first when `['polling', 'websocket']`) */
  readonly transports?: readonly ('websocket' | 'polling')[];
  /**
   * At most how often the client tells the server the last seq it holds of its streams
   * (`changes:received`, unanswered: the operators' view of each device's lag, and the
   * commit-to-device latency metric); 0 never tells. @default what the server asks in its
   * subscribe answers (`CCS_DEVICE_REPORT_MS`), and `DEFAULT_RECEIVED_REPORT_MS` (5 s) until it
   * says
   */
  readonly receivedReportMs?: number;
}

/** Where the connection stands. */
export type ConnectionState = 'connecting' | 'connected' | 'disconnected' | 'closed';

/**
 * Why the connection changed: `connected` (first connect, or back after a network loss),
 * `token_refreshed` (back with a token fetched from `getToken` after the last one expired or was
 * refused), `network` (lost, or not reachable), `refused` (the handshake was refused: `error`
 * says why), a {@link SessionEndReason} (the server ended the session; `connecting` with the
 * same reason while coming back from it), `closed_by_app`.
 */
export type ConnectionReason =
  'connected' | 'network' | 'refused' | 'token_refreshed' | SessionEndReason | 'closed_by_app';

/** Events of a {@link CcsClient}. */
export interface ClientEvents extends OutboxEvents {
  state: (change: {
    readonly state: ConnectionState;
    readonly reason: ConnectionReason;
    readonly error?: WireError;
  }) => void;
  presence: (event: PresenceEvent) => void;
  typing: (event: TypingEvent) => void;
}

type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/** Session ends after which the same device must not come back by itself. */
const FINAL_SESSION_ENDS: ReadonlySet<SessionEndReason> = new Set([
  'device_revoked',
  'user_deleted',
]);

/**
 * A device's connection to CCS: streams that resume where they stopped, writes that wait in an
 * outbox while offline, presence, typing, and the REST reads, with one token.
 *
 * @example
 * const client = createClient({ url: 'http://127.0.0.1:3000', getToken });
 * const chat = client.subscribe(`conversation:${id}`);
 * chat.on('change', (change) => render(change));
 * await client.write('message:send', { conversationId: id, clientId: crypto.randomUUID(), body: 'hi' });
 */
export class CcsClient extends Emitter<ClientEvents, ClientEvents> {
  private readonly socket: ClientSocket;
  private readonly streams = new Map<StreamName, StreamSubscription>();
  private readonly outbox: Outbox;
  private readonly rest: RestApi;
  private token: string | undefined;
  /** The `getToken` call under way: concurrent asks (handshake, REST) share it. */
  private tokenRequest: Promise<string> | undefined;
  /** Whether a token was ever fetched: the next fetch is a refresh. */
  private hadToken = false;
  /** A fresh token was fetched since the last connect: that connect says `token_refreshed`. */
  private tokenRefreshed = false;
  /** Why the session last ended (a `session_ended` reason), until the next connect. */
  private endReason: ConnectionReason | undefined;
  private connectionState: ConnectionState = 'connecting';
  private attempts = 0;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly link: StreamLink;
  /** `changes:received`, unless the app set `receivedReportMs` to 0. */
  private readonly reporter: ReceivedReporter | undefined;

  constructor(private readonly options: ClientOptions) {
    super();
    if (!options.token && !options.getToken) {
      throw new ClientError('unauthorized', 'createClient needs a token or getToken');
    }
    this.token = options.token;
    this.hadToken = options.token !== undefined;
    this.rest = new RestApi(
      options.url,
      () => this.currentToken(),
      () => this.tokenRefused(),
    );
    this.socket = io(options.url, {
      transports: [...(options.transports ?? ['websocket'])],
      auth: (send) => {
        this.currentToken().then(
          (token) => send({ token }),
          () => send({}),
        );
      },
      reconnectionDelay: options.reconnect?.initialDelayMs ?? 500,
      reconnectionDelayMax: options.reconnect?.maxDelayMs ?? 10_000,
      randomizationFactor: options.reconnect?.jitter ?? 0.5,
    });
    this.link = {
      subscribe: async (stream, since) => {
        const ack = await this.request('subscribe', {
          stream,
          ...(since !== undefined && { since }),
        });
        // The server says how often it wants reports, unless the app chose.
        if (
          ack.ok &&
          ack.receivedReportMs !== undefined &&
          options.receivedReportMs === undefined
        ) {
          this.reporter?.reportEvery(ack.receivedReportMs);
        }
        return ack;
      },
      unsubscribe: async (stream) => {
        await this.request('unsubscribe', { stream });
      },
      snapshot: (stream) => this.rest.snapshot(stream),
      isConnected: () => this.socket.connected,
      forget: (subscription) => {
        if (this.streams.get(subscription.stream) !== subscription) return;
        this.streams.delete(subscription.stream);
        this.reporter?.forget(subscription.stream);
      },
    };
    this.outbox = new Outbox({
      storage: options.storage ?? new MemoryOutboxStorage(),
      send: (event, payload) => this.request(event, payload as WritePayloads[typeof event][0]),
      isConnected: () => this.socket.connected,
      events: this,
    });
    const reportEveryMs = options.receivedReportMs ?? DEFAULT_RECEIVED_REPORT_MS;
    this.reporter =
      reportEveryMs > 0
        ? new ReceivedReporter(reportEveryMs, (payload) => {
            // Unanswered (no ack asked): a report lost to a disconnect is made again later.
            if (this.socket.connected) this.socket.emit(EVENTS.changesReceived, payload);
          })
        : undefined;
    this.listen();
  }

  /** Where the connection stands now. */
  get state(): ConnectionState {
    return this.connectionState;
  }

  /**
   * Subscribes to a stream (once per stream per client): its changes in seq order, exactly
   * once, resumed after every reconnect. `since`: the last seq the app already has (e.g. a
   * snapshot's); omitted, changes from now on.
   */
  subscribe(stream: StreamName, options: { readonly since?: number } = {}): StreamSubscription {
    if (this.streams.has(stream)) {
      throw new ClientError(
        'conflict',
        `already subscribed to ${stream}; close that subscription first`,
      );
    }
    const subscription = new StreamSubscription(stream, options.since, this.link);
    this.streams.set(stream, subscription);
    if (this.socket.connected) subscription.connected();
    return subscription;
  }

  /**
   * Writes through the outbox: sent now when connected, else kept (in the client's storage)
   * and sent in order on reconnect. Resolves with the server's answer once it acknowledged;
   * rejects with a {@link ClientError} when the server refused it (`conflict`, `forbidden`, …),
   * without holding up the writes behind it. Creates and sends carry the payload's `clientId`:
   * a retry after a lost ack writes once, and writing again with a `clientId` still queued (by
   * this run or an earlier one) is the same write, with the same answer.
   */
  write<E extends WriteEventName>(
    event: E,
    payload: WritePayloads[E][0],
  ): Promise<WritePayloads[E][1]> {
    return this.outbox.write(event, payload);
  }

  /** Writes queued and not yet acknowledged (those of earlier runs kept in storage included). */
  pendingWrites(): Promise<number> {
    return this.outbox.pending();
  }

  /** Who is online in a stream this client is subscribed to. */
  async presence(stream: StreamName): Promise<readonly PresenceMember[]> {
    return (await this.requireOk('presence:list', { stream })).members;
  }

  /** Tells the conversation's other devices this one is typing (or stopped); false when throttled. */
  async typing(conversationId: string, typing: boolean): Promise<boolean> {
    return (await this.requireOk('typing:update', { conversationId, typing })).forwarded;
  }

  /** `GET /v1/streams/:stream/snapshot`: state and the seq it corresponds to. */
  snapshot<S extends StreamSnapshot = StreamSnapshot>(
    stream: StreamName,
    options: { readonly messages?: number } = {},
  ): Promise<S> {
    return this.rest.snapshot(stream, options) as Promise<S>;
  }

  /** `GET /v1/conversations/:id/messages`: one page of history, newest first. */
  history(
    conversationId: string,
    options: { readonly before?: number; readonly limit?: number } = {},
  ): Promise<HistoryPage> {
    return this.rest.history(conversationId, options);
  }

  /** Uploads file content into a workspace (stored once per SHA-256); resolves with its hash. */
  uploadContent(workspaceId: string, content: Uint8Array): Promise<ContentUploadResult> {
    return this.rest.uploadContent(workspaceId, content);
  }

  /** Downloads content a file of the workspace has. */
  downloadContent(workspaceId: string, hash: string): Promise<Uint8Array> {
    return this.rest.downloadContent(workspaceId, hash);
  }

  /** Disconnects for good; pending writes stay in storage for the next client. */
  close(): void {
    this.closeWith('closed_by_app');
  }

  /** Resolves once connected (rejects once closed). */
  connected(): Promise<void> {
    if (this.connectionState === 'connected') return Promise.resolve();
    if (this.connectionState === 'closed') {
      return Promise.reject(new ClientError('closed', 'the client is closed'));
    }
    return new Promise((resolve, reject) => {
      const onState: ClientEvents['state'] = ({ state, reason }) => {
        if (state === 'connected') {
          this.off('state', onState);
          resolve();
        } else if (state === 'closed') {
          this.off('state', onState);
          reject(new ClientError('closed', `the client closed (${reason})`));
        }
      };
      this.on('state', onState);
    });
  }

  private listen(): void {
    const socket = this.socket;
    socket.on('connect', () => {
      this.attempts = 0;
      this.endReason = undefined;
      const refreshed = this.tokenRefreshed;
      this.tokenRefreshed = false;
      this.setState('connected', refreshed ? 'token_refreshed' : 'connected');
      for (const subscription of this.streams.values()) subscription.connected();
      this.outbox.flush();
    });
    socket.on('disconnect', (reason) => {
      if (this.connectionState === 'closed') return;
      // A session_ended before it already said why.
      if (this.connectionState !== 'disconnected') this.setState('disconnected', 'network');
      // The server ended it: socket.io does not reconnect by itself then.
      if (reason === 'io server disconnect') this.retry(0, this.endReason ?? 'network');
    });
    socket.on('connect_error', (error: Error & { data?: WireError }) => {
      if (this.connectionState === 'closed') return;
      const wire = error.data;
      this.setState('disconnected', wire ? 'refused' : 'network', wire);
      if (!wire) return; // The manager retries network failures with its own backoff.
      if (wire.code === 'unauthorized') {
        if (!this.options.getToken) {
          this.closeWith('refused');
          return;
        }
        this.tokenRefused();
      }
      this.retry(wire.retryAfterMs ?? 0, 'refused');
    });
    socket.on(EVENTS.changes, (frame: ChangesFrame) => {
      const first = frame[0];
      const subscription = first && this.streams.get(first.stream);
      if (!subscription) return;
      subscription.receive(frame);
      const held = subscription.lastSeq;
      if (held !== undefined) this.reporter?.received(first.stream, held);
    });
    socket.on(EVENTS.resyncRequired, (event) =>
      this.streams.get(event.stream)?.resyncRequired(event),
    );
    socket.on(EVENTS.unsubscribed, (event) =>
      this.streams.get(event.stream)?.unsubscribed(event.reason),
    );
    socket.on(EVENTS.presence, (event) => this.emit('presence', event));
    socket.on(EVENTS.typing, (event) => this.emit('typing', event));
    socket.on(EVENTS.sessionEnded, ({ reason }) => {
      if (FINAL_SESSION_ENDS.has(reason)) {
        this.closeWith(reason);
        return;
      }
      if (reason === 'token_expired') this.tokenRefused();
      this.endReason = reason;
      this.setState('disconnected', reason);
    });
  }

  /**
   * Connects again after the backoff (or `atLeastMs`), for refusals and session ends socket.io
   * does not retry; the `connecting` state carries `reason`, what it recovers from.
   */
  private retry(atLeastMs: number, reason: ConnectionReason): void {
    clearTimeout(this.retryTimer);
    const initial = this.options.reconnect?.initialDelayMs ?? 500;
    const max = this.options.reconnect?.maxDelayMs ?? 10_000;
    const jitter = this.options.reconnect?.jitter ?? 0.5;
    const base = Math.min(max, initial * 2 ** this.attempts++);
    const delay = Math.max(atLeastMs, base * (1 - jitter + Math.random() * 2 * jitter));
    this.setState('connecting', reason);
    this.retryTimer = setTimeout(() => {
      if (this.connectionState !== 'closed') this.socket.connect();
    }, delay);
  }

  /**
   * Ends the client for good: its subscriptions end (their `ready` and iterators settle), its
   * unacknowledged writes reject with `closed` and stay in storage. The state is `closed` first,
   * so the socket's own disconnect says nothing more.
   */
  private closeWith(reason: ConnectionReason): void {
    if (this.connectionState === 'closed') return;
    clearTimeout(this.retryTimer);
    this.reporter?.stop();
    this.setState('closed', reason);
    for (const subscription of [...this.streams.values()]) void subscription.close();
    this.outbox.close();
    this.socket.disconnect();
  }

  private setState(state: ConnectionState, reason: ConnectionReason, error?: WireError): void {
    if (this.connectionState === 'closed') return;
    this.connectionState = state;
    this.emit('state', { state, reason, ...(error && { error }) });
  }

  /**
   * The token to present: the given one, or `getToken`'s, fetched once until refused (callers
   * that ask while it is being fetched share that one call).
   */
  private currentToken(): Promise<string> {
    if (this.token !== undefined) return Promise.resolve(this.token);
    this.tokenRequest ??= withTimeout(
      this.options.getToken!(),
      this.options.ackTimeoutMs ?? 10_000,
      'getToken did not answer',
    ).then(
      (token) => {
        this.tokenRequest = undefined;
        this.token = token;
        if (this.hadToken) this.tokenRefreshed = true;
        this.hadToken = true;
        return token;
      },
      (error: unknown) => {
        this.tokenRequest = undefined;
        throw error;
      },
    );
    return this.tokenRequest;
  }

  /** The server refused or ended the token: the next request fetches a fresh one. */
  private tokenRefused(): void {
    if (this.options.getToken) this.token = undefined;
  }

  /** Emits and resolves with the ack (rejects when no ack comes in time or the socket drops). */
  private request<E extends keyof ClientToServerEvents>(
    event: E,
    payload: Parameters<ClientToServerEvents[E]>[0],
  ): Promise<AckOf<E>> {
    const timed = this.socket.timeout(this.options.ackTimeoutMs ?? 10_000) as unknown as {
      emitWithAck(event: string, payload: unknown): Promise<unknown>;
    };
    return timed.emitWithAck(event, payload) as Promise<AckOf<E>>;
  }

  private async requireOk<E extends 'presence:list' | 'typing:update'>(
    event: E,
    payload: Parameters<ClientToServerEvents[E]>[0],
  ): Promise<Extract<AckOf<E>, { ok: true }>> {
    if (!this.socket.connected) throw new ClientError('offline', `${event} needs a connection`);
    const ack = await this.request(event, payload);
    if (!ack.ok) throw ClientError.fromWire(ack.error);
    return ack as Extract<AckOf<E>, { ok: true }>;
  }
}

/** The ack an event's callback receives. */
type AckOf<E extends keyof ClientToServerEvents> = Parameters<
  NonNullable<Parameters<ClientToServerEvents[E]>[1]>
>[0];

/** `promise`, or a rejection once `ms` passed without it settling. */
function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ClientError('unauthorized', `${message} in ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Creates a client and starts connecting. */
export function createClient(options: ClientOptions): CcsClient {
  return new CcsClient(options);
}

export type { Ack, SubscribeResult };
