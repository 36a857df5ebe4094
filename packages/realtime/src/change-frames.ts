import type { ChangeEvent } from '@ccs/protocol';

/** Bytes of a change besides its data's text (stream, seq, kind, times, keys, punctuation). */
const CHANGE_OVERHEAD_BYTES = 256;

/**
 * A cheap upper estimate of a change's encoded size: its data's strings at up to 6 bytes per
 * UTF-16 code unit would be exact only for escapes, so the text is counted once (what most
 * text costs) plus the fixed overhead; frames stay near `maxBytes` without encoding twice.
 */
function estimatedBytes(change: ChangeEvent): number {
  let bytes = CHANGE_OVERHEAD_BYTES;
  for (const value of Object.values(change.data)) {
    if (typeof value === 'string') bytes += value.length;
  }
  return bytes;
}

/**
 * Splits changes (in seq order) into `changes` frames of about `maxBytes` at most, so one frame
 * never fills a socket's outbound buffer on its own; usually there is one frame.
 */
export function* changeFrames(
  changes: readonly ChangeEvent[],
  maxBytes: number,
): Generator<readonly ChangeEvent[]> {
  // The common case on the hot path (a read finds one change of a room): nothing to estimate.
  if (changes.length === 1) {
    yield changes;
    return;
  }
  let start = 0;
  let bytes = 0;
  for (let index = 0; index < changes.length; index++) {
    const size = estimatedBytes(changes[index]!);
    if (index > start && bytes + size > maxBytes) {
      yield changes.slice(start, index);
      start = index;
      bytes = 0;
    }
    bytes += size;
  }
  if (start < changes.length) yield start === 0 ? changes : changes.slice(start);
}
