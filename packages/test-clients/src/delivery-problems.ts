/**
 * The seqs a client must receive: `n` means 1, 2, …, n; an array lists them in the order they
 * must arrive (e.g. the seqs after a `since`).
 */
export type ExpectedSeqs = number | readonly number[];

/** How a client's received seqs differ from the expected ones; every list is empty when fine. */
export interface DeliveryProblems {
  /** Expected, never received. */
  readonly missing: readonly number[];
  /** Received more than once, with how many times. */
  readonly duplicates: readonly { readonly seq: number; readonly times: number }[];
  /** Received, not expected. */
  readonly unexpected: readonly number[];
  /** Received after a seq that must come later. */
  readonly outOfOrder: readonly { readonly seq: number; readonly after: number }[];
}

/** The seqs `expected` stands for, in order. */
export function expectedSeqList(expected: ExpectedSeqs): readonly number[] {
  return typeof expected === 'number'
    ? Array.from({ length: expected }, (_, index) => index + 1)
    : expected;
}

/**
 * Compares received seqs with expected ones: each expected seq exactly once, in order, and
 * nothing else. Returns `undefined` when they match.
 */
export function findDeliveryProblems(
  received: readonly number[],
  expected: readonly number[],
): DeliveryProblems | undefined {
  const position = new Map(expected.map((seq, index) => [seq, index]));
  const times = new Map<number, number>();
  const unexpected: number[] = [];
  const outOfOrder: { seq: number; after: number }[] = [];
  let furthest = -1;
  for (const seq of received) {
    const seen = (times.get(seq) ?? 0) + 1;
    times.set(seq, seen);
    const index = position.get(seq);
    if (index === undefined) {
      if (seen === 1) unexpected.push(seq);
    } else if (seen === 1) {
      if (index < furthest) outOfOrder.push({ seq, after: expected[furthest]! });
      furthest = Math.max(furthest, index);
    }
  }
  const missing = expected.filter((seq) => !times.has(seq));
  const duplicates = [...times]
    .filter(([, count]) => count > 1)
    .map(([seq, count]) => ({ seq, times: count }));
  const fine = missing.length + duplicates.length + unexpected.length + outOfOrder.length === 0;
  return fine ? undefined : { missing, duplicates, unexpected, outOfOrder };
}

/** `missing 4, 5; duplicate 2 (×2); 3 after 4` */
export function describeProblems(problems: DeliveryProblems): string {
  const parts: string[] = [];
  if (problems.missing.length) parts.push(`missing ${formatSeqs(problems.missing)}`);
  for (const { seq, times } of problems.duplicates) parts.push(`duplicate ${seq} (×${times})`);
  if (problems.unexpected.length) parts.push(`unexpected ${formatSeqs(problems.unexpected)}`);
  for (const { seq, after } of problems.outOfOrder)
    parts.push(`out of order: ${seq} after ${after}`);
  return parts.join('; ');
}

/** Compresses runs: `[1, 2, 3, 7, 9, 10]` → `1..3, 7, 9..10`; long lists end with `…`. */
export function formatSeqs(seqs: readonly number[], limit = 20): string {
  const runs: string[] = [];
  let start = 0;
  for (let i = 1; i <= seqs.length; i++) {
    if (i < seqs.length && seqs[i] === seqs[i - 1]! + 1) continue;
    runs.push(i - 1 > start ? `${seqs[start]}..${seqs[i - 1]}` : `${seqs[start]}`);
    start = i;
  }
  return runs.length > limit ? `${runs.slice(0, limit).join(', ')}, …` : runs.join(', ');
}

/** Lists seqs as they are (repeats and order kept): `1, 2, 2, 3`; long lists end with `…`. */
export function listSeqs(seqs: readonly number[], limit = 40): string {
  return seqs.length > limit ? `${seqs.slice(0, limit).join(', ')}, …` : seqs.join(', ');
}
