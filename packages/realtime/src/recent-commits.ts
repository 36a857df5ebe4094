import type { ChangeEvent, StreamName } from '@ccs/protocol';

/** Commit times kept per stream: a device acknowledges one of its stream's latest changes. */
const PER_STREAM = 64;

/**
 * When the latest changes of each stream this node delivered were committed, so that a device's
 * `changes:received` can be timed from the commit. Bounded: `PER_STREAM` changes per stream, and
 * the streams delivered to most recently, at most `maxStreams` of them.
 */
export class RecentCommits {
  private readonly streams = new Map<StreamName, { seqs: number[]; times: string[] }>();

  constructor(private readonly maxStreams = 4096) {}

  /** Records the commit times of changes of `stream` as delivered (in seq order). */
  record(stream: StreamName, changes: readonly ChangeEvent[]): void {
    let ring = this.streams.get(stream);
    if (ring) this.streams.delete(stream);
    else {
      ring = { seqs: [], times: [] };
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
    }
    if (ring.seqs.length > PER_STREAM) {
      ring.seqs.splice(0, ring.seqs.length - PER_STREAM);
      ring.times.splice(0, ring.times.length - PER_STREAM);
    }
  }

  /** When the change `seq` of `stream` committed (ms since the epoch), if it is still kept. */
  committedAt(stream: StreamName, seq: number): number | undefined {
    const ring = this.streams.get(stream);
    if (!ring) return undefined;
    const index = ring.seqs.lastIndexOf(seq);
    return index === -1 ? undefined : Date.parse(ring.times[index]!);
  }
}
