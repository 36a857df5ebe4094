import type { StreamName } from '@ccs/protocol';
import { LatencyHistogram } from '@ccs/test-clients';
import type pg from 'pg';
import { encodeBody, nowMicros } from '../measure/message-body.js';
import { runPacedLoop } from '../measure/paced-loop.js';
import { StreamRotation } from '../measure/stream-rotation.js';
import type { BenchConversation } from './bench-directory.js';
import type { LoadSent } from './bench-ipc.js';
import { latencySummary } from './latency-summary.js';

/**
 * One message, as a device sends it: a single-row INSERT in its own transaction (autocommit);
 * the capture triggers number it and turn it into one change. Prepared once per connection
 * (named).
 *   $1 conversation_id  $2 author_id  $3 device_id  $4 client_id  $5 body
 *   $6 seq: a unique placeholder the numbering trigger replaces; it is kept only while the write
 *      ceiling turns the triggers off, where `(conversation_id, seq)` must still be unique
 */
const INSERT_MESSAGE = `INSERT INTO messages (conversation_id, author_id, device_id, client_id, body, seq)
VALUES ($1, $2, $3, $4, $5, $6)`;

/**
 * How CCS writes commit: `durable` waits for the WAL to reach the disk (PostgreSQL's default);
 * `asynchronous` runs on connections with `synchronous_commit = off`, so a commit returns before
 * its WAL is flushed and the disk's fsync time (tens of ms of jitter on some machines, which a
 * relay reading in commit order passes on to every later change) stays out of the latency. The
 * overhead comparisons use it: what they compare happens in the gateway and the devices.
 */
export type CommitMode = 'durable' | 'asynchronous';

/** Options of {@link MessageWriter.run}. */
export interface WriteLoad {
  readonly phase: number;
  readonly writesPerSec: number;
  readonly durationMs: number;
  /** How often the schedule wakes up to issue the messages due (each one its own INSERT). */
  readonly tickMs: number;
  /** @default 'durable' */
  readonly commits?: CommitMode;
}

/** What {@link MessageWriter.runFlatOut} achieved. */
export interface FlatOutResult {
  readonly committed: number;
  readonly elapsedMs: number;
  readonly errors: number;
}

/**
 * The CCS side of the load: writes messages straight into PostgreSQL with plain SQL (as any
 * writer would; capture is done by the trigger), round-robin over the conversations. Each body
 * carries the time its INSERT was issued, which is where CCS latency starts. The INSERTs of a
 * tick are all issued at once and queue on the pool, so its connections work in parallel and
 * nothing waits for one row before issuing the next. Client ids are numbered by this writer
 * whichever pool a write goes through: a message whose (device, client id) is taken is a retry,
 * which the numbering trigger skips without a word.
 */
export class MessageWriter {
  private written = 0;

  /**
   * @param pools `durable`: PostgreSQL's default commits; `asynchronous`: the same database on
   *   connections with `synchronous_commit = off` (see {@link CommitMode}).
   */
  constructor(
    private readonly pools: Readonly<Record<CommitMode, pg.Pool>>,
    private readonly conversations: readonly BenchConversation[],
    private readonly bodyBytes: number,
  ) {}

  /**
   * Open loop: writes at `writesPerSec` for `durationMs` and resolves once every INSERT has
   * committed or failed; `elapsedMs` runs to the last commit.
   */
  async run(load: WriteLoad): Promise<LoadSent> {
    const pool = this.pools[load.commits ?? 'durable'];
    const rotation = new StreamRotation(this.conversations);
    const sentPerStream: Record<StreamName, number> = {};
    const inFlight = new Set<Promise<void>>();
    let errors = 0;
    let firstError: unknown;
    const commit = LatencyHistogram.empty();
    const start = performance.now();
    await runPacedLoop({
      ratePerSec: load.writesPerSec,
      durationMs: load.durationMs,
      tickMs: load.tickMs,
      issue: (count) => {
        for (const [conversation, rows] of rotation.take(count)) {
          for (let row = 0; row < rows; row++) {
            const sentAtMicros = nowMicros();
            const write = this.insert(pool, conversation, load.phase, sentAtMicros)
              .then(
                () => {
                  commit.record(nowMicros() - sentAtMicros);
                  sentPerStream[conversation.stream] =
                    (sentPerStream[conversation.stream] ?? 0) + 1;
                },
                (error: unknown) => {
                  errors++;
                  firstError ??= error;
                },
              )
              .finally(() => inFlight.delete(write));
            inFlight.add(write);
          }
        }
      },
    });
    while (inFlight.size > 0) await Promise.all(inFlight);
    if (firstError) console.error('bench writer: INSERT failed:', firstError);
    return {
      sentPerStream,
      elapsedMs: performance.now() - start,
      errors,
      commit: latencySummary(commit),
    };
  }

  /**
   * Closed loop: every connection of the pool INSERTs back to back for `durationMs` (one lane
   * per connection, the next INSERT issued when the previous one committed).
   */
  async runFlatOut(options: {
    readonly phase: number;
    readonly durationMs: number;
    readonly connections: number;
  }): Promise<FlatOutResult> {
    const rotation = new StreamRotation(this.conversations);
    let committed = 0;
    let errors = 0;
    let firstError: unknown;
    const start = performance.now();
    const deadline = start + options.durationMs;
    const lane = async (): Promise<void> => {
      while (performance.now() < deadline) {
        try {
          await this.insert(this.pools.durable, rotation.next(), options.phase, nowMicros());
          committed++;
        } catch (error) {
          errors++;
          firstError ??= error;
        }
      }
    };
    await Promise.all(Array.from({ length: options.connections }, lane));
    if (firstError) console.error('bench writer: INSERT failed:', firstError);
    return { committed, elapsedMs: performance.now() - start, errors };
  }

  private insert(
    pool: pg.Pool,
    conversation: BenchConversation,
    phase: number,
    sentAtMicros: number,
  ): Promise<unknown> {
    return pool.query({
      name: 'bench-insert-message',
      text: INSERT_MESSAGE,
      values: [
        conversation.id,
        conversation.authorId,
        conversation.deviceId,
        `bench-${++this.written}`,
        encodeBody({ phase, sentAtMicros }, this.bodyBytes),
        -this.written,
      ],
    });
  }
}
