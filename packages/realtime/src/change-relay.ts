import {
  readChanges,
  readStreamHeads,
  readStreamPosition,
  type ChangeListener,
  type ChangeRow,
  type Database,
} from '@ccs/db';
import type { ChangeEvent, StreamName } from '@ccs/protocol';
import { pino, type Logger } from 'pino';
import { SerialQueue } from './serial-queue.js';
import type {
  AttachResult,
  BroadcastChanges,
  RelayAttachment,
  RelaySubscription,
  RequestResync,
  StreamRelay,
} from './stream-relay.js';

/** Options of {@link ChangeRelay}. */
export interface ChangeRelayOptions {
  readonly db: Database;
  /** Source of wake-up hints; the relay never trusts them for data. */
  readonly listener: ChangeListener;
  /** Emits changes of one stream, in seq order, to every local subscriber of it. */
  readonly broadcast: BroadcastChanges;
  /** Tells a stream's local subscribers to resync (the log lost changes they needed). */
  readonly resync: RequestResync;
  /** Re-reads the heads of tracked streams this often, in case a hint was lost. @default 1000 */
  readonly pollIntervalMs?: number;
  /** Rows read per query. @default 500 */
  readonly batchSize?: number;
  /** @default a silent logger */
  readonly logger?: Logger;
  /**
   * Called after every poll with the relay's lag: committed changes of tracked streams not yet
   * emitted (sum over streams of head − cursor).
   */
  readonly onLag?: (changesBehind: number) => void;
}

interface TrackedStream {
  /** Newest seq emitted to the room; every change up to it has been broadcast. */
  cursor: number;
  subscribers: number;
  /** Work on one stream runs one task at a time, so replay and live emits never interleave. */
  readonly queue: SerialQueue;
  drainQueued: boolean;
}

/** Converts a change_log row to the wire's change event. */
export function toChangeEvent(row: ChangeRow): ChangeEvent {
  // The capture trigger wrote kind and payload together, so they agree.
  return {
    stream: row.stream,
    seq: row.seq,
    kind: row.kind,
    data: row.payload,
    committedAt: row.committedAt.toISOString(),
  } as ChangeEvent;
}

/**
 * Delivers committed changes of the streams that local sockets subscribe to. It keeps one cursor
 * per stream and reads `change_log` past it in seq order. Because the capture trigger gives each
 * stream a dense seq in commit order, every committed change of a stream is visible once the
 * next one is, so reading `seq > cursor` never skips and never repeats. It wakes on NOTIFY hints
 * and re-reads stream heads on a timer, so a lost LISTEN connection delays delivery but loses
 * nothing.
 */
export class ChangeRelay implements StreamRelay {
  private readonly streams = new Map<StreamName, TrackedStream>();
  private readonly pollIntervalMs: number;
  private readonly batchSize: number;
  private readonly logger: Logger;
  private pollTimer: NodeJS.Timeout | undefined;
  private readonly onHint = (hint: { stream: string; seq: number }): void => {
    const state = this.streams.get(hint.stream as StreamName);
    if (state && hint.seq > state.cursor) this.scheduleDrain(hint.stream as StreamName, state);
  };
  private readonly onListening = (): void => void this.poll();

  constructor(private readonly options: ChangeRelayOptions) {
    this.pollIntervalMs = options.pollIntervalMs ?? 1000;
    this.batchSize = options.batchSize ?? 500;
    this.logger = options.logger ?? pino({ level: 'silent' });
  }

  start(): void {
    this.options.listener.on('hint', this.onHint);
    this.options.listener.on('listening', this.onListening);
    this.pollTimer = setInterval(() => void this.poll(), this.pollIntervalMs);
    this.pollTimer.unref();
  }

  /** Stops waking up; in-flight reads finish. */
  async stop(): Promise<void> {
    clearInterval(this.pollTimer);
    this.options.listener.off('hint', this.onHint);
    this.options.listener.off('listening', this.onListening);
    await Promise.all([...this.streams.values()].map((state) => state.queue.settled()));
  }

  /** Streams with at least one local subscriber. */
  get trackedStreams(): StreamName[] {
    return [...this.streams.keys()];
  }

  /**
   * Adds a subscriber to `stream`: replays what it missed after `since` through `replay`, then
   * calls `join` (the socket joins the room) before any later change is broadcast, so the
   * subscriber sees every change after `since` once, with no gap between replay and live.
   * The subscription counts from this call until its `release()`, whatever the result.
   */
  attach(
    stream: StreamName,
    since: number | undefined,
    replay: (changes: readonly ChangeEvent[]) => void,
    join: () => void,
  ): RelayAttachment {
    let state = this.streams.get(stream);
    if (!state) {
      state = { cursor: -1, subscribers: 0, queue: new SerialQueue(), drainQueued: false };
      this.streams.set(stream, state);
    }
    const tracked = state;
    tracked.subscribers++;
    let released = false;
    const subscription: RelaySubscription = {
      release: () => {
        if (released) return;
        released = true;
        tracked.subscribers--;
        // Forget the stream only from inside its queue, after every task already queued for it.
        if (tracked.subscribers === 0) {
          void tracked.queue.run(async () => {
            if (tracked.subscribers === 0 && this.streams.get(stream) === tracked) {
              this.streams.delete(stream);
            }
          });
        }
      },
    };
    const result = tracked.queue.run(async (): Promise<AttachResult> => {
      const position = await readStreamPosition(this.options.db, stream);
      if (tracked.cursor < 0) {
        tracked.cursor = position.head;
      } else {
        await this.drain(stream, tracked);
      }
      const head = tracked.cursor;
      if (since !== undefined && since > head) {
        return { ok: false, reason: 'since_ahead_of_head', head };
      }
      if (since !== undefined && since < position.trimmedTo) {
        return { ok: false, reason: 'since_before_retention', head };
      }
      let after = since ?? head;
      while (after < head && !released) {
        const rows = await readChanges(
          this.options.db,
          stream,
          after,
          Math.min(this.batchSize, head - after),
        );
        if (rows[0]?.seq !== after + 1) {
          return { ok: false, reason: 'since_before_retention', head };
        }
        replay(rows.map(toChangeEvent));
        after = rows[rows.length - 1]!.seq;
      }
      // Released meanwhile (unsubscribed, disconnected): it must not end up in the room.
      if (!released) join();
      return { ok: true, head };
    });
    return { subscription, result };
  }

  private scheduleDrain(stream: StreamName, state: TrackedStream): void {
    if (state.drainQueued) return;
    state.drainQueued = true;
    void state.queue
      .run(async () => {
        state.drainQueued = false;
        await this.drain(stream, state);
      })
      .catch((error: unknown) => {
        // The cursor did not move: the next hint or poll retries from the same place.
        this.logger.warn({ err: error, stream }, 'change relay read failed; will retry');
      });
  }

  private async drain(stream: StreamName, state: TrackedStream): Promise<void> {
    // A state the relay already forgot must not emit: a newer one may serve the room now.
    while (state.cursor >= 0 && this.streams.get(stream) === state) {
      const rows = await readChanges(this.options.db, stream, state.cursor, this.batchSize);
      if (rows.length === 0) return;
      const changes = rows.map(toChangeEvent);
      const last = changes[changes.length - 1]!.seq;
      if (changes[0]!.seq !== state.cursor + 1) {
        // Seq is dense, so only retention outrunning this relay leaves a gap: tell the room to
        // resync rather than deliver past a hole in silence.
        this.logger.error({ stream, cursor: state.cursor, next: changes[0]!.seq }, 'gap');
        this.options.resync(stream, 'since_before_retention', last);
      } else {
        this.options.broadcast(stream, changes);
      }
      state.cursor = last;
      if (rows.length < this.batchSize) return;
    }
  }

  private async poll(): Promise<void> {
    const streams = this.trackedStreams;
    if (streams.length === 0) {
      this.options.onLag?.(0);
      return;
    }
    try {
      const heads = await readStreamHeads(this.options.db, streams);
      let behind = 0;
      for (const [stream, head] of heads) {
        const state = this.streams.get(stream as StreamName);
        if (state && state.cursor >= 0 && head > state.cursor) {
          behind += head - state.cursor;
          this.scheduleDrain(stream as StreamName, state);
        }
      }
      this.options.onLag?.(behind);
    } catch (error) {
      this.logger.warn({ err: error }, 'change relay poll failed; will retry');
    }
  }
}
