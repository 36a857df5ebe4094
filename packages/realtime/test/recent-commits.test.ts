import type { ChangeEvent, StreamName } from '@ccs/protocol';
import { describe, expect, it } from 'vitest';
import { RecentCommits } from '../src/recent-commits.js';

const change = (stream: StreamName, seq: number): ChangeEvent =>
  ({ stream, seq, committedAt: new Date(1_000_000 + seq).toISOString() }) as ChangeEvent;

describe('RecentCommits', () => {
  it('keeps the commit times of the latest 64 changes of a stream', () => {
    const recent = new RecentCommits();
    const stream = 'conversation:a' as StreamName;
    recent.record(stream, [change(stream, 1), change(stream, 2)]);
    recent.record(
      stream,
      Array.from({ length: 70 }, (_, i) => change(stream, i + 3)),
    );
    expect(recent.find(stream, 72)?.committedAt).toBe(1_000_072);
    expect(recent.find(stream, 9)?.committedAt).toBe(1_000_009);
    expect(recent.find(stream, 8)?.committedAt).toBeUndefined();
    expect(recent.find(stream, 73)?.committedAt).toBeUndefined();
  });

  it('forgets the stream delivered to least recently past its bound', () => {
    const recent = new RecentCommits(2);
    const [a, b, c] = ['user:a', 'user:b', 'user:c'] as StreamName[];
    recent.record(a!, [change(a!, 1)]);
    recent.record(b!, [change(b!, 1)]);
    recent.record(a!, [change(a!, 2)]);
    recent.record(c!, [change(c!, 1)]);
    expect(recent.find(b!, 1)?.committedAt).toBeUndefined();
    expect(recent.find(a!, 2)?.committedAt).toBe(1_000_002);
    expect(recent.find(c!, 1)?.committedAt).toBe(1_000_001);
  });
});
