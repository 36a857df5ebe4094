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
 * The changes in a client's history (`change` entries: each `changes` frame was recorded as one
 * per change). Only the envelope (`stream`, `seq`, `committedAt`) is read, whatever the kind.
 */
export class ReceivedChanges {
  constructor(private readonly history: EventHistory) {}

  /** Changes received, in arrival order; only those of `stream` if given. */
  list(stream?: string): ReceivedChange[] {
    return this.history.entries.flatMap((entry) => {
      const change = changeIn(entry);
      if (!change || (stream !== undefined && change.stream !== stream)) return [];
      return [
        { change, receivedAt: entry.at, latencyMs: entry.at - Date.parse(change.committedAt) },
      ];
    });
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
        const change = changeIn(entry);
        if (change?.stream === stream) outstanding.delete(change.seq);
        return outstanding.size === 0 ? { value: true } : undefined;
      },
      onTimeout: () => ({ value: false }),
    });
  }
}

/** The change a recorded event carries, if it is a received `change`. */
function changeIn(entry: RecordedEvent): ChangeEvent | undefined {
  if (entry.direction !== 'in' || entry.event !== 'change') return undefined;
  const [first] = entry.args;
  return isChange(first) ? first : undefined;
}

function isChange(value: unknown): value is ChangeEvent {
  if (typeof value !== 'object' || value === null) return false;
  const { stream, seq } = value as Partial<Record<keyof ChangeEvent, unknown>>;
  return typeof stream === 'string' && typeof seq === 'number';
}
