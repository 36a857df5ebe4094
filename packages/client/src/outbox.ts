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

  constructor(private readonly deps: OutboxDeps) {
    // Writes kept by an earlier run go first, in the order they were written.
    this.loading = deps.storage.load().then((items) => {
      this.queue.unshift(...items.sort((a, b) => a.queuedAt - b.queuedAt));
    });
  }

  async write<E extends WriteEventName>(
    event: E,
    payload: WritePayloads[E][0],
  ): Promise<WritePayloads[E][1]> {
    if (this.closed) throw new ClientError('closed', 'the client is closed');
    await this.loading;
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
    const item: OutboxItem = {
      id: free
        ? clientId
        : `${Date.now()}-${++this.sequence}-${Math.random().toString(36).slice(2)}`,
      event,
      payload,
      // Strictly increasing, so the order survives a reload even within one millisecond.
      queuedAt: Math.max(Date.now(), (this.queue.at(-1)?.queuedAt ?? 0) + 1),
    };
    const answer = this.expect(item.id, event);
    await this.deps.storage.put(item);
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
    void this.drain().finally(() => {
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
      this.queue.shift();
      await this.deps.storage.remove(item.id);
      const waiter = this.settle.get(item.id);
      this.settle.delete(item.id);
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

  private later(ms: number): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.flush(), ms);
  }
}
