import type { ChangeEvent } from '@ccs/protocol';
import type { EventHistory } from './event-history.js';
import { LatencyStats, type LatencySummary } from './latency-stats.js';
import type { RecordedEvent } from './recorded-event.js';

/** A `change` as a client received it. */
export interface ReceivedChange {
  readonly change: ChangeEvent;
  /** `Date.now()` when it arrived. */
  readonly receivedAt: number;
  /**
   * Commit-to-receive time: `receivedAt − Date.parse(change.committedAt)`; `NaN` when
   * `committedAt` does not parse.
   */
  readonly latencyMs: number;
}

/**
 * The changes in a client's history: from `change` events and, should the server batch them,
 * from `changes` events carrying an array. Only the envelope (`stream`, `seq`, `committedAt`)
 * is read, whatever the change's kind.
 */
export class ReceivedChanges {
  constructor(private readonly history: EventHistory) {}

  /** Changes received, in arrival order; only those of `stream` if given. */
  list(stream?: string): ReceivedChange[] {
    return this.history.entries.flatMap((entry) =>
      changesIn(entry)
        .filter((change) => stream === undefined || change.stream === stream)
        .map((change) => ({
          change,
          receivedAt: entry.at,
          latencyMs: entry.at - Date.parse(change.committedAt),
        })),
    );
  }

  /** Highest seq received on `stream`, 0 if none: what to resume from with `since`. */
  lastSeq(stream: string): number {
    return this.list(stream).reduce((max, { change }) => Math.max(max, change.seq), 0);
  }

  latency(stream?: string): LatencySummary {
    return LatencyStats.summarize(this.list(stream).map(({ latencyMs }) => latencyMs));
  }

  /** Resolves `true` once every seq of `expected` has arrived on `stream`, `false` on timeout. */
  waitForSeqs(stream: string, expected: readonly number[], timeoutMs: number): Promise<boolean> {
    const outstanding = new Set(expected);
    if (outstanding.size === 0) return Promise.resolve(true);
    return this.history.watch<boolean>({
      replay: true,
      timeoutMs,
      description: `seqs of ${stream}`,
      step: (entry) => {
        for (const change of changesIn(entry)) {
          if (change.stream === stream) outstanding.delete(change.seq);
        }
        return outstanding.size === 0 ? { value: true } : undefined;
      },
      onTimeout: () => ({ value: false }),
    });
  }
}

/** The changes one recorded event carries: one for `change`, several for a batched `changes`. */
export function changesIn(entry: RecordedEvent): ChangeEvent[] {
  if (entry.direction !== 'in') return [];
  const [first] = entry.args;
  if (entry.event === 'change') return isChange(first) ? [first] : [];
  if (entry.event === 'changes' && Array.isArray(first)) return first.filter(isChange);
  return [];
}

function isChange(value: unknown): value is ChangeEvent {
  if (typeof value !== 'object' || value === null) return false;
  const { stream, seq } = value as Partial<Record<keyof ChangeEvent, unknown>>;
  return typeof stream === 'string' && typeof seq === 'number';
}
