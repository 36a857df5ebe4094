import { describe, expect, it } from 'vitest';
import { TurnBatcher } from '../src/turn-batcher.js';

/** A loader that records each call's keys, and answers each call when told to, oldest first. */
function controlledLoader(answer: (key: string) => string | undefined = (key) => `value-${key}`) {
  const calls: string[][] = [];
  const open: Array<{ release: () => void; fail: (error: Error) => void }> = [];
  return {
    calls,
    release: () => open.shift()!.release(),
    fail: (error: Error) => open.shift()!.fail(error),
    load: (keys: readonly string[]) => {
      calls.push([...keys]);
      return new Promise<Map<string, string>>((resolve, reject) => {
        open.push({
          release: () => {
            const found = new Map<string, string>();
            for (const key of keys) {
              const value = answer(key);
              if (value !== undefined) found.set(key, value);
            }
            resolve(found);
          },
          fail: reject,
        });
      });
    },
  };
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('TurnBatcher', () => {
  it('loads the keys asked in one turn at once, and answers each waiter with its own value', async () => {
    const loader = controlledLoader((key) => (key === 'gone' ? undefined : `value-${key}`));
    const batcher = new TurnBatcher({ load: loader.load });
    const answers = Promise.all(['a', 'b', 'a', 'gone'].map((key) => batcher.get(key)));
    await turn();
    expect(loader.calls).toEqual([['a', 'b', 'gone']]);
    loader.release();
    expect(await answers).toEqual(['value-a', 'value-b', 'value-a', undefined]);
  });

  it('never adds a key to a load under way; keys asked meanwhile wait for the next', async () => {
    const loader = controlledLoader();
    const batcher = new TurnBatcher({ load: loader.load, maxInFlight: 1 });
    const first = batcher.get('a');
    await turn();
    const later = [batcher.get('a'), batcher.get('b')];
    await turn();
    // One load under way (maxInFlight 1): the later keys wait for it.
    expect(loader.calls).toEqual([['a']]);
    loader.release();
    expect(await first).toBe('value-a');
    await turn();
    expect(loader.calls).toEqual([['a'], ['a', 'b']]);
    loader.release();
    expect(await Promise.all(later)).toEqual(['value-a', 'value-b']);
  });

  it('cuts batches at maxBatch and runs up to maxInFlight at once', async () => {
    const loader = controlledLoader();
    const batcher = new TurnBatcher({ load: loader.load, maxBatch: 2, maxInFlight: 2 });
    const answers = Promise.all(['a', 'b', 'c', 'd', 'e'].map((key) => batcher.get(key)));
    await turn();
    expect(loader.calls).toEqual([
      ['a', 'b'],
      ['c', 'd'],
    ]);
    loader.release();
    await turn(); // the load ends
    await turn(); // the waiting key goes
    expect(loader.calls.at(-1)).toEqual(['e']);
    loader.release();
    loader.release();
    expect(await answers).toEqual(['value-a', 'value-b', 'value-c', 'value-d', 'value-e']);
  });

  it('rejects every waiter of a failed load, and the next turn loads again', async () => {
    const loader = controlledLoader();
    const batcher = new TurnBatcher({ load: loader.load });
    const failed = Promise.allSettled([batcher.get('a'), batcher.get('b')]);
    await turn();
    loader.fail(new Error('database down'));
    expect((await failed).map((result) => result.status)).toEqual(['rejected', 'rejected']);
    const retried = batcher.get('a');
    await turn();
    loader.release();
    expect(await retried).toBe('value-a');
  });

  it('rejects the waiters when the loader throws synchronously', async () => {
    const batcher = new TurnBatcher<string, string>({
      load: () => {
        throw new Error('bad keys');
      },
    });
    await expect(batcher.get('a')).rejects.toThrow('bad keys');
  });
});
