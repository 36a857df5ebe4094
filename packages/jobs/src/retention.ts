import { trimChangeLog, type Database } from '@ccs/db';

/** How long changes stay replayable. */
export interface RetentionPolicy {
  /** Changes older than this are removed; a resume from before them gets `resync_required`. */
  readonly maxAgeMs: number;
  /** Rows deleted per statement, so a large backlog never holds long locks. @default 5000 */
  readonly batchSize?: number;
}

/** Removes every change older than the policy allows; returns how many were removed. */
export async function applyRetention(
  db: Database,
  policy: RetentionPolicy,
  now: Date = new Date(),
): Promise<number> {
  const before = new Date(now.getTime() - policy.maxAgeMs);
  const batchSize = policy.batchSize ?? 5000;
  let removed = 0;
  for (;;) {
    const batch = await trimChangeLog(db, before, batchSize);
    removed += batch;
    if (batch < batchSize) return removed;
  }
}
