import type { StreamName, SubscribeResult } from '@ccs/protocol';
import { AckError } from './ack-error.js';
import { AckRefusedError } from './ack-refused-error.js';
import { ClientClosedError } from './client-closed-error.js';
import type { ConnectionState, StateTransition } from './connection-state.js';
import type { WaitForStateOptions } from './connection-state-machine.js';
import { DeliveryAssertionError, type DeliveryFailure } from './delivery-assertion-error.js';
import { expectedSeqList, findDeliveryProblems, type ExpectedSeqs } from './delivery-problems.js';
import { EventHistory, type HistoryQuery } from './event-history.js';
import type {
  ClientEventAck,
  ClientEventName,
  ClientEventPayload,
  ServerEventArgs,
  ServerEventName,
  WaitForOptions,
} from './event-types.js';
import type { LatencySummary } from './latency-stats.js';
import { ReceivedChanges, type ReceivedChange } from './received-changes.js';
import type { RecordedEvent } from './recorded-event.js';
import type {
  DeliveryCheckOptions,
  EmitWithAckOptions,
  ExpectNoEventOptions,
  ReconnectOptions,
  TestClientOptions,
} from './test-client-options.js';
import {
  SocketConnection,
  type DisconnectReason,
  type TestClientSocket,
} from './socket-connection.js';
import { UnexpectedEventError } from './unexpected-event-error.js';
import { WaitForTimeoutError } from './wait-for-timeout-error.js';

let clientCount = 0;

/**
 * A socket.io client for tests: records every event in and out with its time, tracks its
 * connection state, and waits for events without sleeping. WebSocket transport unless asked for
 * long-polling; no auto-reconnect unless asked.
 *
 * @example
 * const client = await TestClient.connect({ url, token });
 * await client.emitWithAck('subscribe', { stream });
 * const [change] = await client.waitFor('change', { predicate: (c) => c.seq === 1 });
 */
export class TestClient {
  /** Names the client in error messages. */
  readonly name: string;
  private readonly records = new EventHistory();
  private readonly receivedChanges = new ReceivedChanges(this.records);
  private readonly connection: SocketConnection;

  constructor(private readonly options: TestClientOptions) {
    this.name = options.name ?? `client-${++clientCount}`;
    this.connection = new SocketConnection({
      url: options.url,
      token: options.token,
      name: this.name,
      reconnection: options.reconnection ?? false,
      reconnectionDelay: options.reconnectionDelay ?? 100,
      reconnectionAttempts: options.reconnectionAttempts ?? Infinity,
      timeoutMs: options.timeoutMs ?? 5000,
      transport: options.transport ?? 'websocket',
      record: (direction, event, args) => this.records.record(direction, event, args),
    });
  }

  /** Creates a client and resolves once it is connected; rejects with the server's error. */
  static async connect(options: TestClientOptions): Promise<TestClient> {
    const client = new TestClient(options);
    await client.open();
    return client;
  }

  /** The socket.io socket; a new one after `reconnect({ url })` to another server. */
  get socket(): TestClientSocket {
    return this.connection.socket;
  }

  /** The server URL the client talks to now. */
  get url(): string {
    return this.connection.url;
  }

  get state(): ConnectionState {
    return this.connection.state;
  }

  /** Every state change so far, oldest first. */
  get transitions(): readonly StateTransition[] {
    return this.connection.transitions;
  }

  /** socket.io's reason for the latest disconnect, e.g. `io server disconnect`. */
  get disconnectReason(): DisconnectReason | undefined {
    return this.connection.disconnectReason;
  }

  /** The latest `connect_error`; its `data` carries the server's code. */
  get connectError(): Error | undefined {
    return this.connection.connectError;
  }

  /** Every event sent and received so far (and acks), oldest first. */
  get history(): readonly RecordedEvent[] {
    return this.records.entries;
  }

  /** Connects; rejects with the `connect_error` (its `data` carries the server's code). */
  open(): Promise<void> {
    return this.connection.open();
  }

  /** Arguments of every received `event` so far, optionally only those matching `predicate`. */
  received<E extends ServerEventName>(
    event: E,
    predicate?: (...args: ServerEventArgs<E>) => boolean,
  ): ServerEventArgs<E>[] {
    return this.records
      .select({ direction: 'in', event })
      .map((entry) => entry.args as ServerEventArgs<E>)
      .filter((args) => predicate?.(...args) ?? true);
  }

  /** Payloads of every `event` sent so far. */
  sent<E extends ClientEventName>(event: E): ClientEventPayload<E>[] {
    return this.records
      .select({ direction: 'out', event })
      .map((entry) => entry.args[0] as ClientEventPayload<E>);
  }

  /** Recorded events matching every given field of `query`. */
  events(query: HistoryQuery = {}): RecordedEvent[] {
    return this.records.select(query);
  }

  /** Changes received (from `change` and batched `changes`), with commit-to-receive latency. */
  changes(stream?: string): ReceivedChange[] {
    return this.receivedChanges.list(stream);
  }

  /** Highest seq received on `stream` (0 if none): resume with `subscribe { since }`. */
  lastSeq(stream: string): number {
    return this.receivedChanges.lastSeq(stream);
  }

  /** Percentiles of commit-to-receive latency of the changes received, in ms. */
  latency(stream?: string): LatencySummary {
    return this.receivedChanges.latency(stream);
  }

  /** Emits and resolves with the ack; rejects with an {@link AckError} when none comes. */
  emitWithAck<E extends ClientEventName>(
    event: E,
    payload: ClientEventPayload<E>,
    options: EmitWithAckOptions = {},
  ): Promise<ClientEventAck<E>> {
    const timeout = options.timeout ?? this.options.ackTimeoutMs ?? 5000;
    // socket.io's typed emit cannot take an event name that is a type parameter.
    const socket = this.connection.socket.timeout(timeout) as unknown as {
      emit(event: string, payload: unknown, ack: (error: Error | null, ack: unknown) => void): void;
    };
    return new Promise((resolve, reject) => {
      socket.emit(event, payload, (error, ack) => {
        if (error) {
          const reason = error.message.includes('timed out') ? 'timeout' : 'disconnected';
          reject(
            new AckError(event, payload, reason, timeout, { cause: error, client: this.name }),
          );
          return;
        }
        // Recorded as it arrives, before the events the server sent after it.
        this.records.record('ack', event, [ack]);
        resolve(ack as ClientEventAck<E>);
      });
    });
  }

  /**
   * Subscribes to `stream` (replaying after `since`, when given) and resolves with the ack's
   * head; rejects with an {@link AckRefusedError} when the server refuses.
   */
  async subscribe(
    stream: StreamName,
    options: { readonly since?: number } & EmitWithAckOptions = {},
  ): Promise<SubscribeResult> {
    const { since, ...emit } = options;
    const payload = { stream, ...(since !== undefined && { since }) };
    const ack = await this.emitWithAck('subscribe', payload, emit);
    if (!ack.ok) throw new AckRefusedError('subscribe', payload, ack.error, { client: this.name });
    return {
      head: ack.head,
      ...(ack.receivedReportMs !== undefined && { receivedReportMs: ack.receivedReportMs }),
    };
  }

  /**
   * Resolves with the arguments of the first `event` (already received or still to come) that
   * satisfies the predicate; rejects with a {@link WaitForTimeoutError} listing what arrived.
   */
  waitFor<E extends ServerEventName>(
    event: E,
    options: WaitForOptions<ServerEventArgs<E>> = {},
  ): Promise<ServerEventArgs<E>> {
    const timeout = options.timeout ?? 5000;
    return this.records.watch({
      replay: true,
      timeoutMs: timeout,
      description: `"${event}"`,
      step: (entry) => {
        if (entry.direction !== 'in' || entry.event !== event) return undefined;
        const args = entry.args as ServerEventArgs<E>;
        return (options.predicate?.(...args) ?? true) ? { value: args } : undefined;
      },
      onTimeout: () => ({ error: this.timeoutError(event, timeout) }),
    });
  }

  /** Resolves with every matching `event` once at least `count` of them have arrived. */
  async waitForCount<E extends ServerEventName>(
    event: E,
    count: number,
    options: WaitForOptions<ServerEventArgs<E>> = {},
  ): Promise<ServerEventArgs<E>[]> {
    let matched = 0;
    if (count > 0) {
      const timeout = options.timeout ?? 5000;
      await this.records.watch<true>({
        replay: true,
        timeoutMs: timeout,
        description: `${count} "${event}"`,
        step: (entry) => {
          if (entry.direction !== 'in' || entry.event !== event) return undefined;
          if (options.predicate?.(...(entry.args as ServerEventArgs<E>)) ?? true) matched++;
          return matched >= count ? { value: true } : undefined;
        },
        onTimeout: () => ({ error: this.timeoutError(event, timeout, count, matched) }),
      });
    }
    return this.received(event, options.predicate);
  }

  /**
   * Resolves if no event (or no matching `event`) arrives from now for the given time; rejects
   * with an {@link UnexpectedEventError} as soon as one does.
   */
  expectNoEvent(withinMs: number): Promise<void>;
  expectNoEvent<E extends ServerEventName>(
    event: E,
    options?: ExpectNoEventOptions<ServerEventArgs<E>>,
  ): Promise<void>;
  expectNoEvent(
    eventOrMs: ServerEventName | number,
    options: ExpectNoEventOptions<never[]> = {},
  ): Promise<void> {
    const event = typeof eventOrMs === 'number' ? undefined : eventOrMs;
    const within = typeof eventOrMs === 'number' ? eventOrMs : (options.within ?? 500);
    const predicate = options.predicate as ((...args: readonly unknown[]) => boolean) | undefined;
    return this.records.watch<undefined>({
      replay: false,
      timeoutMs: within,
      description: `no ${event ?? 'event'} for ${within} ms`,
      step: (entry) => {
        if (entry.direction !== 'in') return undefined;
        if (event !== undefined && (entry.event !== event || !(predicate?.(...entry.args) ?? true)))
          return undefined;
        return { error: new UnexpectedEventError(event, within, entry, this.name) };
      },
      onTimeout: () => ({ value: undefined }),
    });
  }

  /**
   * Resolves once the connection is in `state`; rejects with a `StateTimeoutError` naming the
   * states it went through. Pass `since: client.transitions.length` (taken before acting) to
   * wait for a state the action leads to rather than the current one.
   */
  waitForState(state: ConnectionState, options: WaitForStateOptions = {}): Promise<void> {
    return this.connection.machine.waitFor(state, options);
  }

  /**
   * Waits (up to `timeout`) for every expected seq of `stream`, then checks that each arrived
   * exactly once and in order; resolves with what is wrong, or `undefined` when nothing is.
   */
  async checkDelivery(
    stream: string,
    expected: ExpectedSeqs,
    options: DeliveryCheckOptions = {},
  ): Promise<DeliveryFailure | undefined> {
    const seqs = expectedSeqList(expected);
    await this.receivedChanges.waitForSeqs(stream, seqs, options.timeout ?? 5000);
    const received = this.receivedChanges.list(stream).map(({ change }) => change.seq);
    const problems = findDeliveryProblems(received, seqs);
    return problems && { member: this.name, received, problems };
  }

  /** Like {@link checkDelivery}, but rejects with a {@link DeliveryAssertionError}. */
  async expectReceivedOnce(
    stream: string,
    expected: ExpectedSeqs,
    options: DeliveryCheckOptions = {},
  ): Promise<void> {
    const failure = await this.checkDelivery(stream, expected, options);
    if (failure) throw new DeliveryAssertionError(stream, expectedSeqList(expected), [failure], 1);
  }

  /** Disconnects (reason `io client disconnect`); no automatic reconnect follows. */
  disconnect(): void {
    this.connection.disconnect();
  }

  /**
   * Disconnects if needed and connects again, to the same server or to `options.url` (a
   * failover to another node); the history carries on. Resume with `lastSeq(stream)`.
   */
  reconnect(options: ReconnectOptions = {}): Promise<void> {
    return this.connection.reconnect(
      options.url ?? this.connection.url,
      options.token ?? this.connection.token,
    );
  }

  /** Disconnects and rejects every pending wait with a {@link ClientClosedError}. */
  close(): void {
    this.disconnect();
    const closed = (waitingFor: string): Error => new ClientClosedError(waitingFor, this.name);
    this.records.cancelAll(closed);
    this.connection.machine.cancelAll(closed);
  }

  private timeoutError(
    event: string,
    timeout: number,
    expected?: number,
    matched?: number,
  ): WaitForTimeoutError {
    const context = { client: this.name, state: this.state, expected, matched };
    return new WaitForTimeoutError(event, timeout, [...this.records.entries], context);
  }
}
