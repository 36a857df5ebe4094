/**
 * Spreads writes over a fixed list of streams round-robin, so every stream gets the same rate
 * whatever the batch sizes.
 */
export class StreamRotation<Target> {
  private position = 0;

  constructor(private readonly targets: readonly Target[]) {
    if (targets.length === 0) throw new Error('StreamRotation needs at least one target');
  }

  /** The next target. */
  next(): Target {
    const target = this.targets[this.position]!;
    this.position = (this.position + 1) % this.targets.length;
    return target;
  }

  /** The next `count` targets, grouped: each target with how many of the `count` it gets. */
  take(count: number): Map<Target, number> {
    const batch = new Map<Target, number>();
    for (let i = 0; i < count; i++) {
      const target = this.next();
      batch.set(target, (batch.get(target) ?? 0) + 1);
    }
    return batch;
  }
}
