import { Emitter } from '@socket.io/component-emitter';
import type {
  Ack,
  ChangeEvent,
  ResyncRequiredEvent,
  StreamName,
  StreamSnapshot,
  SubscribeResult,
  UnsubscribeReason,
} from '@ccs/protocol';
import { ClientError } from './client-error.js';

/** Backoff of a subscribe or repair step that failed while connected. */
const RETRY_INITIAL_MS = 250;
const RETRY_MAX_MS = 5000;

/** How a subscription became live (again). */
export type ResumeOutcome =
  /** First subscribe, from `since` or from now. */
  | 'started'
  /** After a reconnect, from the last seq received: nothing missed, nothing repeated. */
  | 'resumed'
  /** After a gap in what arrived: replayed from the last seq received. */
  | 'repaired'
  /** After `resync_required`: from a fresh snapshot's seq. */
  | 'resynced';

/** Events of a {@link StreamSubscription}. */
export interface StreamSubscriptionEvents {
  /** The next change of the stream: each seq once, in order, none skipped. */
  change: (change: ChangeEvent) => void;
  /** Live from `head` on: every change after `since` arrives, replayed first. */
  live: (event: {
    readonly head: number;
    readonly since: number;
    readonly outcome: ResumeOutcome;
  }) => void;
  /**
   * The server could not resume the stream (`since` older than retention, or the device fell
   * too far behind): the SDK fetched this snapshot and continues from its seq. Replace the
   * stream's state with it.
   */
  resync: (event: {
    readonly reason: ResyncRequiredEvent['reason'];
    readonly snapshot: StreamSnapshot;
  }) => void;
  /** The subscription ended: access was taken away, it was refused, or it was closed. */
  ended: (event: {
    readonly reason: UnsubscribeReason | 'forbidden' | 'closed';
    readonly message: string;
  }) => void;
}

/** What a subscription needs from its client. */
export interface StreamLink {
  subscribe(stream: StreamName, since: number | undefined): Promise<Ack<SubscribeResult>>;
  unsubscribe(stream: StreamName): Promise<void>;
  snapshot(stream: StreamName): Promise<StreamSnapshot>;
  isConnected(): boolean;
  forget(subscription: StreamSubscription): void;
}

/**
 * One stream of a client: its changes in seq order exactly once, whatever the network does. It
 * remembers the last seq it handed out; after a reconnect it subscribes from there, a change
 * that arrives twice is dropped, one that arrives after a gap is dropped and the gap replayed,
 * and a `resync_required` is answered with a snapshot. Listen with `on('change')`, or iterate:
 * `for await (const change of subscription)` — before awaiting `ready`: a replay (changes after
 * `since`) arrives before the subscription is live, and a change no one listens for is not kept.
 */
export class StreamSubscription extends Emitter<
  StreamSubscriptionEvents,
  StreamSubscriptionEvents
> {
  /** Resolves once the subscription is live the first time, with the stream's head then. */
  readonly ready: Promise<{ readonly head: number }>;
  private seq: number | undefined;
  private lastCommittedAt: number | undefined;
  private lastReceivedAt: number | undefined;
  private started = false;
  private closed = false;
  /** Subscribes and resyncs of this stream, one after the other. */
  private chain: Promise<void> = Promise.resolve();
  private repairing = false;
  /** A `resync_required` arrived and its snapshot is not applied yet. */
  private resyncPending = false;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private resolveReady!: (value: { head: number }) => void;
  private rejectReady!: (error: ClientError) => void;
  private readonly buffered: ChangeEvent[] = [];
  /** An iterator was taken: changes wait for it even while `change` listeners exist. */
  private iterated = false;
  private readonly waiting: ((result: IteratorResult<ChangeEvent>) => void)[] = [];

  constructor(
    readonly stream: StreamName,
    since: number | undefined,
    private readonly link: StreamLink,
  ) {
    super();
    this.seq = since;
    this.ready = new Promise((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    // A subscription nobody awaits must not end the process when it is refused.
    this.ready.catch(() => undefined);
  }

  /** The last seq handed out (what a resume starts after); undefined before the first. */
  get lastSeq(): number | undefined {
    return this.seq;
  }

  /**
   * How far behind the stream this device was at its last change: receive time minus the
   * change's commit time (`committedAt`), in ms; undefined before the first change.
   */
  get lagMs(): number | undefined {
    return this.lastCommittedAt === undefined || this.lastReceivedAt === undefined
      ? undefined
      : this.lastReceivedAt - this.lastCommittedAt;
  }

  /** Stops the subscription (the server is told when connected); iteration ends. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.end('closed', 'the subscription was closed');
    if (this.link.isConnected()) await this.link.unsubscribe(this.stream).catch(() => undefined);
  }

  [Symbol.asyncIterator](): AsyncIterator<ChangeEvent> {
    this.iterated = true;
    return {
      next: () => {
        const change = this.buffered.shift();
        if (change) return Promise.resolve({ value: change, done: false });
        if (this.closed) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => this.waiting.push(resolve));
      },
      return: async () => {
        await this.close();
        return { value: undefined, done: true };
      },
    };
  }

  /** @internal The socket (re)connected: subscribe from the last seq. */
  connected(): void {
    this.repairing = false;
    clearTimeout(this.retryTimer);
    this.enqueue(() => this.subscribe(this.started ? 'resumed' : 'started'));
  }

  /** @internal A `changes` frame of this stream. */
  receive(frame: readonly ChangeEvent[]): void {
    if (this.closed) return;
    for (const change of frame) {
      if (this.seq !== undefined && change.seq <= this.seq) continue;
      if (this.seq !== undefined && change.seq > this.seq + 1) {
        // Something between was lost: replay from what we have; later frames repeat this one.
        if (!this.repairing) {
          this.repairing = true;
          this.enqueue(async () => {
            await this.link.unsubscribe(this.stream);
            await this.subscribe('repaired');
          });
        }
        return;
      }
      this.seq = change.seq;
      this.lastCommittedAt = Date.parse(change.committedAt);
      this.lastReceivedAt = Date.now();
      this.deliver(change);
    }
  }

  /** @internal The server cannot resume the stream: start again from a snapshot. */
  resyncRequired(event: ResyncRequiredEvent): void {
    if (this.closed) return;
    this.resyncPending = true;
    this.enqueue(async () => {
      const snapshot = await this.link.snapshot(this.stream);
      if (this.closed) return;
      this.resyncPending = false;
      this.seq = snapshot.seq;
      this.emit('resync', { reason: event.reason, snapshot });
      await this.link.unsubscribe(this.stream).catch(() => undefined);
      await this.subscribe('resynced');
    });
  }

  /** @internal The server ended the subscription (access taken away). */
  unsubscribed(reason: UnsubscribeReason): void {
    this.end(reason, `the server ended ${this.stream}: ${reason}`);
  }

  private async subscribe(outcome: ResumeOutcome): Promise<void> {
    if (this.closed || !this.link.isConnected()) return;
    const since = this.seq;
    const ack = await this.link.subscribe(this.stream, since);
    if (this.closed) return;
    if (!ack.ok) {
      if (ack.error.code === 'conflict') {
        // A resync_required came just before this refusal: its handler subscribes again.
        if (this.resyncPending) return;
        // Already subscribed (an earlier subscribe whose ack was lost): start it over.
        await this.link.unsubscribe(this.stream);
        throw ClientError.fromWire(ack.error);
      }
      if (ack.error.code === 'forbidden' || ack.error.code === 'not_found') {
        this.end('forbidden', ack.error.message);
        return;
      }
      // rate_limited (a reconnect resubscribing many streams at once), internal: again later.
      throw ClientError.fromWire(ack.error);
    }
    this.repairing = false;
    this.seq ??= ack.head;
    this.started = true;
    this.emit('live', { head: ack.head, since: since ?? ack.head, outcome });
    this.resolveReady({ head: ack.head });
  }

  /**
   * Runs `step` after the ones before. A step that fails while connected runs again after
   * `retryAfterMs` or a backoff (so a refused or timed-out subscribe never leaves the stream
   * silent); one that fails because the connection dropped waits for the next connect, which
   * subscribes anew. Nothing runs once the subscription is closed.
   */
  private enqueue(step: () => Promise<void>, attempt = 0): void {
    this.chain = this.chain.then(async () => {
      if (this.closed) return;
      try {
        await step();
      } catch (error) {
        if (this.closed || !this.link.isConnected()) return;
        const waitMs =
          error instanceof ClientError && error.retryAfterMs !== undefined
            ? error.retryAfterMs
            : Math.min(RETRY_MAX_MS, RETRY_INITIAL_MS * 2 ** attempt);
        clearTimeout(this.retryTimer);
        this.retryTimer = setTimeout(() => this.enqueue(step, attempt + 1), waitMs);
      }
    });
  }

  private deliver(change: ChangeEvent): void {
    const waiter = this.waiting.shift();
    if (waiter) waiter({ value: change, done: false });
    // Kept for an iterator while its loop body runs; listeners get it now, as from any emitter.
    else if (this.iterated) this.buffered.push(change);
    this.emit('change', change);
  }

  private end(reason: 'closed' | 'forbidden' | UnsubscribeReason, message: string): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.link.forget(this);
    this.rejectReady(new ClientError(reason === 'closed' ? 'closed' : 'forbidden', message));
    for (const waiter of this.waiting.splice(0)) waiter({ value: undefined, done: true });
    this.emit('ended', { reason, message });
  }
}
