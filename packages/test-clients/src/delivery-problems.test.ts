import { describe, expect, it } from 'vitest';
import {
  describeProblems,
  expectedSeqList,
  findDeliveryProblems,
  formatSeqs,
  listSeqs,
} from './delivery-problems.js';

describe('findDeliveryProblems', () => {
  it('finds nothing wrong with each seq once, in order', () => {
    expect(findDeliveryProblems([1, 2, 3], [1, 2, 3])).toBeUndefined();
    expect(findDeliveryProblems([], [])).toBeUndefined();
  });

  it('finds a duplicate', () => {
    const problems = findDeliveryProblems([1, 2, 2, 3], [1, 2, 3]);
    expect(problems).toMatchObject({ duplicates: [{ seq: 2, times: 2 }], missing: [] });
    expect(describeProblems(problems!)).toBe('duplicate 2 (×2)');
  });

  it('finds a gap', () => {
    const problems = findDeliveryProblems([1, 3], [1, 2, 3]);
    expect(problems).toMatchObject({ missing: [2], duplicates: [], outOfOrder: [] });
    expect(describeProblems(problems!)).toBe('missing 2');
  });

  it('finds a reordering', () => {
    const problems = findDeliveryProblems([1, 3, 2, 4], [1, 2, 3, 4]);
    expect(problems).toMatchObject({ outOfOrder: [{ seq: 2, after: 3 }], missing: [] });
    expect(describeProblems(problems!)).toBe('out of order: 2 after 3');
  });

  it('finds seqs that were not expected', () => {
    const problems = findDeliveryProblems([4, 5, 6], [5, 6]);
    expect(describeProblems(problems!)).toBe('unexpected 4');
  });

  it('ignores the repeat of a duplicate when judging order', () => {
    const problems = findDeliveryProblems([1, 2, 3, 2], [1, 2, 3]);
    expect(problems).toMatchObject({ duplicates: [{ seq: 2, times: 2 }], outOfOrder: [] });
  });
});

describe('expectedSeqList', () => {
  it('turns a count into 1..n and keeps a list as it is', () => {
    expect(expectedSeqList(3)).toEqual([1, 2, 3]);
    expect(expectedSeqList(0)).toEqual([]);
    expect(expectedSeqList([7, 8])).toEqual([7, 8]);
  });
});

describe('formatSeqs', () => {
  it('compresses runs', () => {
    expect(formatSeqs([1, 2, 3, 7, 9, 10])).toBe('1..3, 7, 9..10');
    expect(formatSeqs([])).toBe('');
  });

  it('cuts a long list', () => {
    expect(formatSeqs([1, 3, 5, 7], 2)).toBe('1, 3, …');
  });
});

describe('listSeqs', () => {
  it('keeps repeats and order, and cuts a long list', () => {
    expect(listSeqs([1, 2, 2, 3])).toBe('1, 2, 2, 3');
    expect(listSeqs([3, 1, 2], 2)).toBe('3, 1, …');
  });
});
