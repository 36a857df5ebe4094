import type { StreamName } from '@ccs/protocol';
import type pg from 'pg';
import type { LoadSent } from './bench-ipc.js';
import type { BenchConversation } from './bench-directory.js';
import { LatencyRecorder } from './latency-recorder.js';
import { encodeBody, nowMicros } from './message-body.js';
import { runPacedLoop } from './paced-loop.js';
import { StreamRotation } from './stream-rotation.js';

/**
 * Inserts the rows of one conversation due in one tick, as one statement (one transaction);
 * the capture trigger turns each row into its own change.
 *   $1 conversation_id  $2 author_id  $3 device_id  $4 client ids (text[])  $5 bodies (text[])
 */
const INSERT_MESSAGES = `INSERT INTO messages (conversation_id, author_id, device_id, client_id, body)
SELECT $1::uuid, $2::uuid, $3::uuid, c, b FROM unnest($4::text[], $5::text[]) AS t(c, b)`;

/** Options of {@link MessageWriter.run}. */
export interface WriteLoad {
  readonly phase: number;
  readonly writesPerSec: number;
  readonly durationMs: number;
  /** How often due rows are issued; rows of one conversation due in one tick share a statement. */
  readonly tickMs: number;
}

/**
 * The CCS side of the load: writes messages straight into PostgreSQL (as any writer would;
 * capture is done by the trigger), round-robin over the conversations, at a fixed rate. Each
 * body carries the time its INSERT was issued, which is where CCS latency starts.
 */
export class MessageWriter {
  private written = 0;

  constructor(
    private readonly pool: pg.Pool,
    private readonly conversations: readonly BenchConversation[],
    private readonly bodyBytes: number,
  ) {}

  /**
   * Writes for `durationMs` and resolves once every INSERT has committed or failed; `elapsedMs`
   * runs to the last commit.
   */
  async run(load: WriteLoad): Promise<LoadSent> {
    const rotation = new StreamRotation(this.conversations);
    const sentPerStream: Record<StreamName, number> = {};
    const inFlight = new Set<Promise<void>>();
    let errors = 0;
    let firstError: unknown;
    const commit = LatencyRecorder.empty();
    const start = performance.now();
    await runPacedLoop({
      ratePerSec: load.writesPerSec,
      durationMs: load.durationMs,
      tickMs: load.tickMs,
      issue: (count) => {
        for (const [conversation, rows] of rotation.take(count)) {
          const sentAtMicros = nowMicros();
          const body = encodeBody({ phase: load.phase, sentAtMicros }, this.bodyBytes);
          const clientIds = Array.from({ length: rows }, () => `bench-${++this.written}`);
          const write = this.pool
            .query({
              name: 'bench-insert-messages',
              text: INSERT_MESSAGES,
              values: [
                conversation.id,
                conversation.authorId,
                conversation.deviceId,
                clientIds,
                clientIds.map(() => body),
              ],
            })
            .then(
              () => {
                commit.record(nowMicros() - sentAtMicros);
                sentPerStream[conversation.stream] =
                  (sentPerStream[conversation.stream] ?? 0) + rows;
              },
              (error: unknown) => {
                errors += rows;
                firstError ??= error;
              },
            )
            .finally(() => inFlight.delete(write));
          inFlight.add(write);
        }
      },
    });
    while (inFlight.size > 0) await Promise.all(inFlight);
    if (firstError) console.error('bench writer: INSERT failed:', firstError);
    return {
      sentPerStream,
      elapsedMs: performance.now() - start,
      errors,
      commit: commit.summary(),
    };
  }
}
