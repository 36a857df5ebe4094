import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import type { LoadDevice } from '../clients/load-client-calls.js';
import { encodeBody, nowMicros } from '../measure/message-body.js';
import { scheduleDurationMs, scheduledCount } from '../measure/rate-schedule.js';
import type { RateStep } from '../clients/load-client-calls.js';

/**
 * A message as any other program would write it: one INSERT in its own transaction, straight
 * into PostgreSQL (the capture trigger numbers it and logs the change). `seq` is a placeholder
 * the numbering trigger replaces.
 */
const INSERT_MESSAGE = `INSERT INTO messages (conversation_id, author_id, device_id, client_id, body, seq)
VALUES ($1, $2, $3, $4, $5, 0)`;

/** What {@link writeMessagesWithSql} did. */
export interface SqlWriteResult {
  readonly issued: number;
  readonly committed: number;
  readonly failed: number;
  readonly firstError: string | undefined;
  /** From the first INSERT issued to the last one committed. */
  readonly elapsedMs: number;
}

/**
 * Writes messages with plain SQL following `schedule` (open loop, round-robin over the sending
 * devices), each body stamped with the time its INSERT was issued; resolves once every INSERT
 * committed or failed.
 */
export async function writeMessagesWithSql(
  pool: pg.Pool,
  senders: readonly LoadDevice[],
  schedule: readonly RateStep[],
  bodyBytes: number,
): Promise<SqlWriteResult> {
  if (senders.length === 0) throw new Error('writeMessagesWithSql: no sending device');
  const prefix = randomUUID().slice(0, 8);
  const inFlight = new Set<Promise<void>>();
  let issued = 0;
  let committed = 0;
  let failed = 0;
  let firstError: string | undefined;
  const durationMs = scheduleDurationMs(schedule);
  const started = performance.now();
  for (;;) {
    const elapsed = performance.now() - started;
    const due = scheduledCount(schedule, Math.min(elapsed, durationMs)) - issued;
    for (let i = 0; i < due; i++) {
      const device = senders[issued % senders.length]!;
      const body = encodeBody({ phase: 0, sentAtMicros: nowMicros() }, bodyBytes);
      const write = pool
        .query({
          name: 'ccs-load-insert-message',
          text: INSERT_MESSAGE,
          values: [
            device.conversationId,
            device.userId,
            device.deviceId,
            `${prefix}-${issued}`,
            body,
          ],
        })
        .then(
          () => void committed++,
          (error: unknown) => {
            failed++;
            firstError ??= error instanceof Error ? error.message : String(error);
          },
        )
        .finally(() => inFlight.delete(write));
      inFlight.add(write);
      issued++;
    }
    if (elapsed >= durationMs) break;
    await sleep(5);
  }
  await Promise.all(inFlight);
  return { issued, committed, failed, firstError, elapsedMs: performance.now() - started };
}
