/**
 * Microseconds since the epoch with sub-millisecond resolution. `performance.timeOrigin` is taken
 * from the wall clock when each process starts, so stamps from the writer, the server and the
 * client processes of one machine can be subtracted from each other.
 */
export function nowMicros(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

/** What a bench message body carries besides its padding. */
export interface BodyStamp {
  /** The load phase that sent it, so a late delivery is never counted in the next phase. */
  readonly phase: number;
  /** When the writer issued the INSERT (CCS) or the server called emit (bare), in µs. */
  readonly sentAtMicros: number;
}

const PREFIX = 'bench|';

/** A body of exactly `bytes` ASCII characters: `bench|<phase>|<sentAtMicros>|xxxx…`. */
export function encodeBody(stamp: BodyStamp, bytes: number): string {
  return `${PREFIX}${stamp.phase}|${stamp.sentAtMicros}|`.padEnd(bytes, 'x');
}

/** The stamp of a body written by {@link encodeBody}; undefined for any other body. */
export function decodeBody(body: string): BodyStamp | undefined {
  if (!body.startsWith(PREFIX)) return undefined;
  const phaseEnd = body.indexOf('|', PREFIX.length);
  const sentEnd = body.indexOf('|', phaseEnd + 1);
  if (phaseEnd < 0 || sentEnd < 0) return undefined;
  const phase = Number(body.slice(PREFIX.length, phaseEnd));
  const sentAtMicros = Number(body.slice(phaseEnd + 1, sentEnd));
  if (!Number.isSafeInteger(phase) || !Number.isSafeInteger(sentAtMicros)) return undefined;
  return { phase, sentAtMicros };
}
