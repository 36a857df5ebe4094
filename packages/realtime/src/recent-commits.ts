import type { SpanContext } from '@opentelemetry/api';
import type { ChangeEvent, StreamName } from '@ccs/protocol';

/** What is kept of one delivered change. */
export interface RecentCommit {
  /** Commit time, ms since the epoch. */
  readonly committedAt: number;
  /** The span of its emit, when tracing. */
  readonly emit: SpanContext | undefined;
}

/** Commit times kept per stream: a device acknowledges one of its stream's latest changes. */
const PER_STREAM = 64;

/**
 * When the latest changes of each stream this node delivered were committed, so that a device's
 * `changes:received` can be timed from the commit. Bounded: `PER_STREAM` changes per stream, and
 * the streams delivered to most recently, at most `maxStreams` of them.
 */
export class RecentCommits {
  private readonly streams = new Map<
    StreamName,
    { seqs: number[]; times: string[]; emits: (SpanContext | undefined)[] }
  >();

  constructor(private readonly maxStreams = 4096) {}

  /** Records the commit times of changes of `stream` as delivered (in seq order), and their emit. */
  record(stream: StreamName, changes: readonly ChangeEvent[], emit?: SpanContext): void {
    let ring = this.streams.get(stream);
    if (ring) this.streams.delete(stream);
    else {
      ring = { seqs: [], times: [], emits: [] };
      if (this.streams.size >= this.maxStreams) {
        this.streams.delete(this.streams.keys().next().value!);
      }
    }
    // Most recently delivered last: the first key is the stream to forget.
    this.streams.set(stream, ring);
    // Times are kept as sent and parsed only when a device acknowledges one.
    for (let i = Math.max(0, changes.length - PER_STREAM); i < changes.length; i++) {
      ring.seqs.push(changes[i]!.seq);
      ring.times.push(changes[i]!.committedAt);
      ring.emits.push(emit);
    }
    if (ring.seqs.length > PER_STREAM) {
      ring.seqs.splice(0, ring.seqs.length - PER_STREAM);
      ring.times.splice(0, ring.times.length - PER_STREAM);
      ring.emits.splice(0, ring.emits.length - PER_STREAM);
    }
  }

  /** What is kept of the change `seq` of `stream`, if it still is. */
  find(stream: StreamName, seq: number): RecentCommit | undefined {
    const ring = this.streams.get(stream);
    if (!ring) return undefined;
    const index = ring.seqs.lastIndexOf(seq);
    if (index === -1) return undefined;
    return { committedAt: Date.parse(ring.times[index]!), emit: ring.emits[index] };
  }
}
