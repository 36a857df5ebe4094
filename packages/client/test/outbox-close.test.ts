import { Emitter } from '@socket.io/component-emitter';
import { afterEach, describe, expect, it } from 'vitest';
import { ClientError } from '../src/client-error.js';
import { Outbox, type OutboxEvents } from '../src/outbox.js';
import { MemoryOutboxStorage, type OutboxItem } from '../src/outbox-storage.js';

/** Memory storage whose `put` finishes only when the test says. */
class GatedStorage extends MemoryOutboxStorage {
  readonly puts: (() => void)[] = [];

  override async put(item: OutboxItem): Promise<void> {
    await new Promise<void>((resolve) => this.puts.push(resolve));
    await super.put(item);
  }
}

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => {
  unhandled.push(reason);
};

afterEach(() => {
  process.off('unhandledRejection', onUnhandled);
  unhandled.length = 0;
});

describe('Outbox.close', () => {
  it('while a write is being stored: the write fails as closed, and nothing is left unhandled', async () => {
    process.on('unhandledRejection', onUnhandled);
    const storage = new GatedStorage();
    const outbox = new Outbox({
      storage,
      send: () => Promise.reject(new Error('never sent: never connected')),
      isConnected: () => false,
      events: new Emitter<OutboxEvents, OutboxEvents>(),
    });
    const write = outbox.write('message:send', {
      conversationId: '0b6d4c1e-8a43-4d4e-9a3b-2f1d8c7e6a5b',
      clientId: 'kept-1',
      body: 'kept',
    });
    await expect.poll(() => storage.puts.length).toBe(1);
    outbox.close();
    storage.puts[0]!();
    const error = await write.then(
      () => undefined,
      (failed: unknown) => failed,
    );
    expect(error).toBeInstanceOf(ClientError);
    expect(error).toMatchObject({ code: 'closed' });
    // Node reports a rejection nobody handled once the microtasks of its turn are done.
    await new Promise((resolve) => setImmediate(resolve));
    expect(unhandled).toEqual([]);
    expect((await storage.load()).map((item) => item.id)).toEqual(['kept-1']);
  });
});
