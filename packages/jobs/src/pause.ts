/** A wait that {@link Pause.wake} ends early (on shutdown), so no loop sleeps through a close. */
export class Pause {
  private wakers = new Set<() => void>();

  for(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wakers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakers.add(done);
    });
  }

  wake(): void {
    for (const wake of [...this.wakers]) wake();
  }
}
