import type { Ack, WriteEventName, WritePayloads } from '@ccs/protocol';
import type { Emitter } from '@socket.io/component-emitter';
import { ClientError } from './client-error.js';
import type { OutboxItem, OutboxStorage } from './outbox-storage.js';

/** What the outbox tells the app about writes, including those of earlier runs. */
export interface OutboxEvents {
  /** The server acknowledged a write. */
  written: (event: { readonly item: OutboxItem; readonly result: object }) => void;
  /** The server refused a write for good (it is dropped; the ones behind it go on). */
  rejected: (event: { readonly item: OutboxItem; readonly error: ClientError }) => void;
  /**
   * The outbox's storage failed: `load` (writes of an earlier run could not be read; they stay
   * where they are), `remove` (an acknowledged write stays stored; a later run sends it again,
   * harmless for writes with a client id).
   */
  storage_error: (event: { readonly operation: 'load' | 'remove'; readonly error: Error }) => void;
}

/** Codes after which sending the same write again cannot succeed. */
const FINAL_CODES: ReadonlySet<string> = new Set([
  'invalid_payload',
  'forbidden',
  'not_found',
  'conflict',
  'unknown_event',
  'unauthorized',
]);

/** What {@link Outbox} needs from its client. */
export interface OutboxDeps {
  readonly storage: OutboxStorage;
  readonly send: (event: WriteEventName, payload: unknown) => Promise<Ack<object>>;
  readonly isConnected: () => boolean;
  readonly events: Emitter<OutboxEvents, OutboxEvents>;
}

/**
 * Writes in order, each acknowledged once: kept in storage until the server answers, sent one
 * at a time while connected (so they commit in the order written), retried after a lost ack or
 * a `rate_limited` (after its `retryAfterMs`), dropped and reported on a final refusal.
 */
export class Outbox {
  private readonly queue: OutboxItem[] = [];
  /** Who waits for the answer to each write of this run, by item id. */
  private readonly settle = new Map<
    string,
    {
      readonly event: WriteEventName;
      readonly answer: Promise<object>;
      readonly resolve: (result: object) => void;
      readonly reject: (error: ClientError) => void;
    }
  >();
  private readonly loading: Promise<void>;
  private flushing = false;
  private closed = false;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private sequence = 0;
  /** The last `queuedAt` given: strictly increasing, even for writes made at once. */
  private lastQueuedAt = 0;

  constructor(private readonly deps: OutboxDeps) {
    // Writes kept by an earlier run go first, in the order they were written. Storage that
    // cannot be read is reported, and the outbox starts without them (they stay where they are).
    this.loading = deps.storage.load().then(
      (items) => {
        this.queue.unshift(...items.sort((a, b) => a.queuedAt - b.queuedAt));
        this.lastQueuedAt = Math.max(this.lastQueuedAt, ...items.map((item) => item.queuedAt));
      },
      (error: unknown) => this.storageFailed('load', error),
    );
  }

  async write<E extends WriteEventName>(
    event: E,
    payload: WritePayloads[E][0],
  ): Promise<WritePayloads[E][1]> {
    if (this.closed) throw new ClientError('closed', 'the client is closed');
    await this.loading;
    if (this.closed) throw new ClientError('closed', 'the client is closed');
    const clientId = (payload as { clientId?: unknown }).clientId;
    if (typeof clientId === 'string') {
      // The same write again (the app retried it, or an earlier run left it in storage): it is
      // sent once, and every caller gets its one answer, as the server would give for a retry.
      const waiting = this.settle.get(clientId);
      if (waiting?.event === event) return waiting.answer as Promise<WritePayloads[E][1]>;
      const kept = this.queue.find((queued) => queued.id === clientId);
      if (!waiting && kept?.event === event) {
        const answer = this.expect(clientId, event);
        this.flush();
        return answer as Promise<WritePayloads[E][1]>;
      }
    }
    // The client id names the write unless another kind of write already took it.
    const free =
      typeof clientId === 'string' &&
      !this.settle.has(clientId) &&
      !this.queue.some((queued) => queued.id === clientId);
    // Strictly increasing, so the order survives a reload even within one millisecond.
    this.lastQueuedAt = Math.max(Date.now(), this.lastQueuedAt + 1);
    const item: OutboxItem = {
      id: free
        ? clientId
        : `${Date.now()}-${++this.sequence}-${Math.random().toString(36).slice(2)}`,
      event,
      payload,
      queuedAt: this.lastQueuedAt,
    };
    // Answerable at once, so a second write of the same client id meanwhile shares this one;
    // sent only once stored, so an ack never comes before the item is kept.
    const answer = this.expect(item.id, event);
    try {
      await this.deps.storage.put(item);
    } catch (error) {
      this.settle.delete(item.id);
      throw new ClientError('storage', `the outbox could not keep this write: ${String(error)}`, {
        cause: error,
      });
    }
    if (this.closed) {
      // Closed while it was being stored: it stays in storage for the next client.
      this.settle.delete(item.id);
      throw new ClientError('closed', 'the client closed; the write stays in storage');
    }
    this.queue.push(item);
    this.flush();
    return answer as Promise<WritePayloads[E][1]>;
  }

  /** The answer to the write `id`, once the server gives it. */
  private expect(id: string, event: WriteEventName): Promise<object> {
    let resolve!: (result: object) => void;
    let reject!: (error: ClientError) => void;
    const answer = new Promise<object>((done, fail) => {
      resolve = done;
      reject = fail;
    });
    // Whoever awaits it still sees a rejection; but a write closed while it was being stored
    // throws its own error, and nobody awaits this answer that `close` rejected.
    answer.catch(() => undefined);
    this.settle.set(id, { event, answer, resolve, reject });
    return answer;
  }

  async pending(): Promise<number> {
    await this.loading;
    return this.queue.length;
  }

  /** Sends what waits, one at a time, while connected. */
  flush(): void {
    if (this.flushing || this.closed) return;
    this.flushing = true;
    void this.drain()
      .catch((error: unknown) => {
        // Storage failed to drop an acknowledged write: try again later.
        this.storageFailed('remove', error);
        this.later(1000);
      })
      .finally(() => {
        this.flushing = false;
      });
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
    for (const { reject } of this.settle.values()) {
      reject(
        new ClientError(
          'closed',
          'the client closed before the server acknowledged this write; it stays in storage',
        ),
      );
    }
    this.settle.clear();
  }

  private async drain(): Promise<void> {
    await this.loading;
    while (!this.closed && this.deps.isConnected()) {
      const item = this.queue[0];
      if (!item) return;
      let ack: Ack<object>;
      try {
        ack = await this.deps.send(item.event, item.payload);
      } catch {
        // No ack (timeout, the connection dropped): the next connect sends it again.
        if (this.deps.isConnected()) this.later(1000);
        return;
      }
      if (!ack.ok && ack.error.code === 'rate_limited') {
        this.later(ack.error.retryAfterMs ?? 1000);
        return;
      }
      if (!ack.ok && !FINAL_CODES.has(ack.error.code)) {
        this.later(1000);
        return;
      }
      // Answered: out of the queue and its waiter taken before storage is touched, so a write
      // of the same client id meanwhile is a new one (and its own item in storage).
      this.queue.shift();
      const waiter = this.settle.get(item.id);
      this.settle.delete(item.id);
      await this.deps.storage.remove(item.id).catch((error: unknown) => {
        // Kept in storage: a later run sends it again, which its client id makes harmless.
        this.storageFailed('remove', error);
      });
      if (ack.ok) {
        const result: Record<string, unknown> = { ...ack };
        delete result['ok'];
        waiter?.resolve(result);
        this.deps.events.emit('written', { item, result });
      } else {
        const error = ClientError.fromWire(ack.error);
        waiter?.reject(error);
        this.deps.events.emit('rejected', { item, error });
      }
    }
  }

  private storageFailed(operation: 'load' | 'remove', error: unknown): void {
    this.deps.events.emit('storage_error', {
      operation,
      error: error instanceof Error ? error : new Error(String(error)),
    });
  }

  private later(ms: number): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.flush(), ms);
  }
}
