import {
  ChangeTail,
  readChanges,
  readStreamPosition,
  readStreamPositions,
  type Database,
  type StreamPosition,
} from '@ccs/db';
import type { ChangeEvent, StreamName } from '@ccs/protocol';
import { pino, type Logger } from 'pino';
import type { ChangeTracing } from './change-tracing.js';
import { SerialQueue } from './serial-queue.js';
import type {
  AttachResult,
  BroadcastChanges,
  ObserveChanges,
  RelayAttachment,
  ReplayChanges,
  RelaySubscription,
  RequestResync,
  StreamRelay,
} from './stream-relay.js';
import { TailTicker } from './tail-ticker.js';

/**
 * While changes flow, a change waits for the next read at most this long. Each read costs the
 * database about 0.1 ms; several gateways (each reads every change) may want more.
 */
const DEFAULT_BUSY_TICK_MS = 1;

/** Reads stay `busyTickMs` apart for this long after the last change found. */
const FLOW_WINDOW_MS = 1000;

/** Options of {@link ChangeRelay}. */
export interface ChangeRelayOptions {
  readonly db: Database;
  /** Emits changes of one stream, in seq order, to every local subscriber of it. */
  readonly broadcast: BroadcastChanges;
  /** Tells a stream's local subscribers to resync (the log lost changes they needed). */
  readonly resync: RequestResync;
  /** Sees every change read, of every stream, before any of them is delivered. */
  readonly observe?: ObserveChanges;
  /** Pause between reads while changes flow. @default 1 */
  readonly busyTickMs?: number;
  /** Longest pause between reads when nothing changes (the idle cost is 1000/idleTickMs reads/s). @default 50 */
  readonly idleTickMs?: number;
  /** Changes read per query. @default 1000 */
  readonly batchSize?: number;
  /** @default a silent logger */
  readonly logger?: Logger;
  /** Spans of the reads that find changes (the parents of their emits). */
  readonly tracing?: ChangeTracing;
  /**
   * Called after every read of the tail: how many changes it returned, how long it took, and how
   * long the oldest of them had been committed when the read began (0 when none).
   */
  readonly onRead?: (read: TailRead) => void;
}

/** One read of the change log's tail, as {@link ChangeRelayOptions.onRead} is told of it. */
export interface TailRead {
  readonly changes: number;
  readonly seconds: number;
  readonly lagSeconds: number;
}

/** A subscriber between its attach and its join: it collects what the room is sent meanwhile. */
interface Joiner {
  readonly missed: ChangeEvent[];
  /** The room was told to resync meanwhile: the joiner must resync too. */
  gap: boolean;
  /** Called after each delivery to the room, while the joiner waits for the relay to catch up. */
  progressed?: () => void;
}

interface PendingInit {
  readonly settle: (
    outcome: { readonly position: StreamPosition } | { readonly error: unknown },
  ) => void;
}

interface TrackedStream {
  /** Newest seq sent to the room; undefined until read from the database. */
  cursor: number | undefined;
  /** Resolves once `cursor` is set. */
  readonly ready: Promise<void>;
  subscribers: number;
  readonly joiners: Set<Joiner>;
}

/**
 * Delivers committed changes of the streams local sockets subscribe to. One {@link ChangeTail}
 * reads the committed changes of all streams with one query per tick; the relay keeps those of
 * streams it tracks, checks each stream's seq continues its cursor, and hands them to
 * `broadcast`, one call per stream per read. Reads come back to back while changes flow and
 * slow down to `idleTickMs` when nothing changes; `wake()` (a write made through a gateway)
 * brings the next read forward, but delivery never depends on a wake-up.
 */
export class ChangeRelay implements StreamRelay {
  private readonly streams = new Map<StreamName, TrackedStream>();
  /** Tail reads and cursor reads of newly tracked streams, one at a time, in order. */
  private readonly reads = new SerialQueue();
  private readonly tail: ChangeTail;
  private readonly ticker: TailTicker;
  private readonly batchSize: number;
  private readonly logger: Logger;
  /** Streams tracked since the last read of heads, waiting for their cursor. */
  private readonly pendingInits = new Map<StreamName, PendingInit>();

  constructor(private readonly options: ChangeRelayOptions) {
    this.batchSize = options.batchSize ?? 1000;
    this.logger = options.logger ?? pino({ level: 'silent' });
    this.tail = new ChangeTail(options.db, { batchSize: this.batchSize });
    this.ticker = new TailTicker({
      busyTickMs: options.busyTickMs ?? DEFAULT_BUSY_TICK_MS,
      idleTickMs: options.idleTickMs ?? 50,
      flowWindowMs: FLOW_WINDOW_MS,
      read: () => this.reads.run(() => this.readTail()),
      onError: (error) => this.logger.warn({ err: error }, 'change relay read failed; will retry'),
    });
  }

  /**
   * Starts reading. The tail's first read (which takes its position) is queued before any
   * stream's cursor is read, so every change after a cursor is one the tail will deliver.
   */
  start(): void {
    this.ticker.start();
  }

  /** Stops reading; a read under way finishes. */
  async stop(): Promise<void> {
    await this.ticker.stop();
    await this.reads.settled();
  }

  wake(): void {
    this.ticker.wake();
  }

  /** Streams with at least one local subscriber. */
  get trackedStreams(): StreamName[] {
    return [...this.streams.keys()];
  }

  /**
   * Adds a subscriber to `stream`: replays what it missed after `since` through `replay`, then
   * what the room was sent during the replay, and calls `join` (the socket joins the room) in
   * the turn it finds nothing more was sent, so the subscriber sees every change after `since`
   * once, with no gap between replay and live. Each `replay` call is awaited: a subscriber that
   * reads slowly slows its own replay, nobody else's. The subscription counts from this call
   * until its `release()`.
   */
  attach(
    stream: StreamName,
    since: number | undefined,
    replay: ReplayChanges,
    join: () => void,
  ): RelayAttachment {
    const state = this.track(stream);
    state.subscribers++;
    let released = false;
    const subscription: RelaySubscription = {
      release: () => {
        if (released) return;
        released = true;
        state.subscribers--;
        // A joiner waiting for the relay to catch up stops waiting.
        for (const joiner of state.joiners) joiner.progressed?.();
        this.forgetIfUnused(stream, state);
      },
    };
    const result = (async (): Promise<AttachResult> => {
      await state.ready;
      const joiner: Joiner = { missed: [], gap: false };
      state.joiners.add(joiner);
      try {
        const head = state.cursor!;
        if (since !== undefined && since > head) {
          // The subscriber may know a change this relay has not read yet (a send acked by any
          // node, a resume on another node): wait for the relay, unless the stream has no such seq.
          const committed = (await readStreamPosition(this.options.db, stream)).head;
          if (since > committed) {
            return { ok: false, reason: 'since_ahead_of_head', head: committed };
          }
          await this.catchUp(state, joiner, since, () => released);
        }
        let after = since ?? head;
        for await (const page of this.logPages(stream, after, head)) {
          if (released) break;
          if (page[0]!.seq !== after + 1) break;
          await replay(page);
          after = page[page.length - 1]!.seq;
        }
        // The log ended before the head: retention removed what this subscriber needs.
        if (after < head && !released) {
          return { ok: false, reason: 'since_before_retention', head };
        }
        // What the room was sent meanwhile, until none is left at the moment of joining.
        for (;;) {
          // Released meanwhile (unsubscribed, disconnected): it must not end up in the room.
          if (released) return { ok: true, head };
          if (joiner.gap) {
            return { ok: false, reason: 'since_before_retention', head: state.cursor! };
          }
          const missed = joiner.missed.splice(0).filter((change) => change.seq > after);
          if (missed.length === 0) break;
          await replay(missed);
          after = missed[missed.length - 1]!.seq;
        }
        join();
        return { ok: true, head: state.cursor! };
      } finally {
        state.joiners.delete(joiner);
        this.forgetIfUnused(stream, state);
      }
    })();
    return { subscription, result };
  }

  private track(stream: StreamName): TrackedStream {
    const existing = this.streams.get(stream);
    if (existing) return existing;
    let settle!: PendingInit['settle'];
    const state: TrackedStream = {
      cursor: undefined,
      subscribers: 0,
      joiners: new Set(),
      ready: new Promise<void>((resolve, reject) => {
        settle = (outcome) => {
          if ('position' in outcome) {
            state.cursor = outcome.position.head;
            resolve();
            // Every subscriber may have left while the cursor was read.
            this.forgetIfUnused(stream, state);
          } else {
            if (this.streams.get(stream) === state) this.streams.delete(stream);
            reject(outcome.error);
          }
        };
      }),
    };
    this.streams.set(stream, state);
    this.pendingInits.set(stream, { settle });
    if (this.pendingInits.size === 1) void this.reads.run(() => this.initialisePending());
    return state;
  }

  /**
   * Reads the heads of every stream tracked since the last such read, in one query, between two
   * tail reads: each cursor then starts where the tail stands, so the tail delivers exactly the
   * changes after it.
   */
  private async initialisePending(): Promise<void> {
    const batch = new Map(this.pendingInits);
    this.pendingInits.clear();
    try {
      const positions = await readStreamPositions(this.options.db, [...batch.keys()]);
      for (const [stream, { settle }] of batch) settle({ position: positions.get(stream)! });
    } catch (error) {
      for (const { settle } of batch.values()) settle({ error });
    }
  }

  /** Resolves once the room's cursor reached `seq` (or the subscription is gone). */
  private catchUp(
    state: TrackedStream,
    joiner: Joiner,
    seq: number,
    released: () => boolean,
  ): Promise<void> {
    return new Promise((resolve) => {
      joiner.progressed = () => {
        if (state.cursor! < seq && !joiner.gap && !released()) return;
        joiner.progressed = undefined;
        resolve();
      };
      joiner.progressed();
      this.wake();
    });
  }

  /** Forgets a stream nobody follows any more; one still reading its cursor is kept until then. */
  private forgetIfUnused(stream: StreamName, state: TrackedStream): void {
    if (
      state.cursor !== undefined &&
      state.subscribers === 0 &&
      state.joiners.size === 0 &&
      this.streams.get(stream) === state
    ) {
      this.streams.delete(stream);
    }
  }

  /** One read of the tail: hands each tracked stream's new changes to the room. */
  private async readTail(): Promise<{ changes: number; more: boolean }> {
    const startedAt = Date.now();
    const started = performance.now();
    const { changes, more } = await this.tail.read();
    if (this.options.onRead) {
      let oldest = startedAt;
      for (const change of changes) oldest = Math.min(oldest, Date.parse(change.committedAt));
      this.options.onRead({
        changes: changes.length,
        seconds: (performance.now() - started) / 1000,
        lagSeconds: (startedAt - oldest) / 1000,
      });
    }
    if (changes.length > 0) this.options.observe?.(changes);
    const byStream = new Map<StreamName, ChangeEvent[]>();
    for (const change of changes) {
      if (!this.streams.has(change.stream)) continue;
      const list = byStream.get(change.stream);
      if (list) list.push(change);
      else byStream.set(change.stream, [change]);
    }
    const tracing = changes.length > 0 ? this.options.tracing : undefined;
    tracing?.startRead(changes);
    try {
      for (const [stream, list] of byStream) await this.deliver(stream, list);
    } finally {
      tracing?.endRead();
    }
    return { changes: changes.length, more };
  }

  private async deliver(stream: StreamName, changes: ChangeEvent[]): Promise<void> {
    const state = this.streams.get(stream)!;
    // Not yet initialised: its cursor will be read after this read, so these are before it.
    if (state.cursor === undefined) return;
    const cursor = state.cursor;
    // One read holds a stream's changes in transaction order; seq order may differ.
    changes.sort((a, b) => a.seq - b.seq);
    let fresh = changes.filter((change) => change.seq > cursor);
    if (fresh.length === 0) return;
    const last = fresh[fresh.length - 1]!.seq;
    if (!continues(cursor, fresh)) {
      // A read cut by its batch size can hold seq 6 of a stream while seq 5, committed first
      // by a transaction with a larger xid, comes in the next read. Every seq below a committed
      // one is committed (the head lock), so read the hole from the log; only retention can
      // have removed it, and then the room must resync, never be served past a hole.
      fresh = [];
      for await (const page of this.logPages(stream, cursor, last)) fresh.push(...page);
      if (this.streams.get(stream) !== state) return;
      if (!continues(cursor, fresh) || fresh.length !== last - cursor) {
        this.logger.error({ stream, cursor, next: fresh[0]?.seq }, 'gap in a stream; resync');
        state.cursor = last;
        this.options.resync(stream, 'since_before_retention', last);
        for (const joiner of state.joiners) {
          joiner.gap = true;
          joiner.progressed?.();
        }
        return;
      }
    }
    state.cursor = last;
    for (const joiner of state.joiners) joiner.missed.push(...fresh);
    this.options.broadcast(stream, fresh);
    for (const joiner of state.joiners) joiner.progressed?.();
  }

  /**
   * The changes of `stream` with `after < seq <= last`, from the log, a batch at a time; ends
   * early where the log has no more (retention removed them).
   */
  private async *logPages(
    stream: StreamName,
    after: number,
    last: number,
  ): AsyncGenerator<ChangeEvent[]> {
    for (let from = after; from < last;) {
      const page = await readChanges(
        this.options.db,
        stream,
        from,
        Math.min(this.batchSize, last - from),
      );
      if (page.length === 0) return;
      yield page;
      from = page[page.length - 1]!.seq;
    }
  }
}

/** Whether `changes` (in seq order, not empty) are exactly the seqs after `cursor`, no hole. */
function continues(cursor: number, changes: readonly ChangeEvent[]): boolean {
  return changes.length > 0 && changes.every((change, index) => change.seq === cursor + 1 + index);
}
