/**
 * Runs async tasks one at a time, in the order they were queued; a failed task does not stop
 * the ones after it (its caller gets the rejection).
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task);
    this.tail = result.catch(() => undefined);
    return result;
  }

  /** Resolves once every task queued so far has finished. */
  settled(): Promise<void> {
    return this.tail.then(() => undefined);
  }
}
