import { ChangeTail, readTailPosition, saveTailPosition, type Database } from '@ccs/db';
import type { ChangeEvent } from '@ccs/protocol';
import type { PoolClient } from 'pg';
import { pino, type Logger } from 'pino';
import { Pause } from './pause.js';

/**
 * Takes the changes of one read, per stream in seq order. It must be idempotent: after a crash,
 * the changes read since the last saved position are handed on again.
 */
export type ChangeSink = (changes: readonly ChangeEvent[]) => Promise<void>;

/** Options of {@link ChangeDispatcher}. */
export interface ChangeDispatcherOptions {
  readonly db: Database;
  /** Names the saved position and the lock: one dispatcher of a name is active at a time. */
  readonly name: string;
  readonly sinks: readonly ChangeSink[];
  /** Pause between reads when nothing changed. @default 100 */
  readonly idleMs?: number;
  /** How often a standby tries to take over, and the pause after an error. @default 1000 */
  readonly retryMs?: number;
  /** Changes per read at most. @default 1000 */
  readonly batchSize?: number;
  /**
   * A read cut by `batchSize` is not handed on alone (see {@link ChangeDispatcher}): reads are
   * gathered until one is not cut, or until this many changes are held. @default 100_000
   */
  readonly maxHeld?: number;
  readonly logger?: Logger;
}

/**
 * The changes grouped by stream (streams in order of first appearance), each in seq order. A read
 * holds changes in transaction (xid) order, and a transaction that started later may have taken
 * a stream's lower seq.
 */
function inStreamOrder(changes: readonly ChangeEvent[]): ChangeEvent[] {
  const streams = new Map<string, ChangeEvent[]>();
  for (const change of changes) {
    const list = streams.get(change.stream);
    if (list) list.push(change);
    else streams.set(change.stream, [change]);
  }
  return [...streams.values()].flatMap((list) => list.sort((a, b) => a.seq - b.seq));
}

/**
 * Reads every committed change from change_log (a {@link ChangeTail}) and hands each read to its
 * sinks, then saves the position in PostgreSQL (`change_tail_positions`), so a restart goes on
 * where the last run stopped: nothing committed is skipped, and what a crash cut short is handed
 * on again (sinks are idempotent). Per stream, changes are handed on in seq order: a read cut by
 * its batch size may miss a lower seq whose transaction has a larger xid, so cut reads are held
 * and handed on with the next read that is not cut. Every worker node may run one: a PostgreSQL advisory lock,
 * held by a connection of its own, keeps one active; a standby takes over within `retryMs` of
 * the active one's death (its session ends, and the lock with it).
 */
export class ChangeDispatcher {
  private readonly pause = new Pause();
  private readonly logger: Logger;
  private lock: PoolClient | undefined;
  private positioned = false;
  private lockLost = false;
  private stopping = false;
  private running: Promise<void> | undefined;

  constructor(private readonly options: ChangeDispatcherOptions) {
    this.logger = options.logger ?? pino({ level: 'silent' });
  }

  /**
   * Whether this dispatcher is the one reading: it holds the lock and has its position, so every
   * change committed from now on will be handed on.
   */
  get active(): boolean {
    return this.lock !== undefined && this.positioned;
  }

  start(): void {
    this.running ??= this.run();
  }

  /** Finishes the read in hand (its sinks and the save), then lets the lock go. */
  async close(): Promise<void> {
    this.stopping = true;
    this.pause.wake();
    await this.running;
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      try {
        this.lock ??= await this.tryLock();
        if (this.lock) await this.dispatch();
        else await this.pause.for(this.options.retryMs ?? 1000);
      } catch (error) {
        this.logger.warn({ err: error }, 'change dispatcher: read or hand-on failed; retrying');
        this.unlock(error instanceof Error ? error : undefined);
        await this.pause.for(this.options.retryMs ?? 1000);
      }
    }
    this.unlock();
  }

  private async tryLock(): Promise<PoolClient | undefined> {
    const client = await this.options.db.$client.connect();
    try {
      const { rows } = await client.query<{ locked: boolean }>(
        'SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS locked',
        [`ccs-change-dispatcher:${this.options.name}`],
      );
      if (rows[0]?.locked) {
        // A lost lock connection ends this run: another node may hold the lock by now.
        const lost = (error?: Error): void => {
          if (this.lock !== client) return;
          this.logger.warn({ err: error }, 'dispatcher lock lost');
          this.lockLost = true;
          this.pause.wake();
        };
        client.on('error', lost);
        client.on('end', () => lost());
        this.logger.info({ name: this.options.name }, 'change dispatcher active');
        return client;
      }
    } catch (error) {
      client.release(error instanceof Error ? error : undefined);
      throw error;
    }
    client.release();
    return undefined;
  }

  /** Releasing the connection with an error (or on close) destroys it: the lock goes with it. */
  private unlock(error?: Error): void {
    const lock = this.lock;
    this.lock = undefined;
    this.positioned = false;
    this.lockLost = false;
    lock?.release(error ?? true);
  }

  private async dispatch(): Promise<void> {
    const { db, name, sinks } = this.options;
    const saved = await readTailPosition(db, name);
    const tail = new ChangeTail(db, { batchSize: this.options.batchSize, from: saved });
    if (!saved) {
      // A first run starts from now: changes committed before the dispatcher existed are history.
      await tail.read();
      await saveTailPosition(db, name, tail.savedPosition()!);
    }
    this.positioned = true;
    const maxHeld = this.options.maxHeld ?? 100_000;
    while (!this.stopping && this.lock) {
      if (this.lockLost) throw new Error('the lock connection was lost');
      const held: ChangeEvent[] = [];
      let more = true;
      while (more && held.length < maxHeld) {
        const read = await tail.read();
        held.push(...read.changes);
        more = read.more;
      }
      if (more) {
        this.logger.warn(
          { held: held.length },
          'change dispatcher: backlog over maxHeld; a stream may be handed on out of order',
        );
      }
      if (held.length > 0) {
        const ordered = inStreamOrder(held);
        for (const sink of sinks) await sink(ordered);
        await saveTailPosition(db, name, tail.savedPosition()!);
      }
      if (!more) await this.pause.for(this.options.idleMs ?? 100);
    }
  }
}
