/// <reference lib="dom" />
import type { WriteEventName, WritePayloads } from '@ccs/protocol';

/** One write waiting to be acknowledged, as it is kept across restarts. */
export interface OutboxItem<E extends WriteEventName = WriteEventName> {
  /** Unique per device; the payload's `clientId` when it has one. */
  readonly id: string;
  readonly event: E;
  readonly payload: WritePayloads[E][0];
  /** Epoch ms it was queued; items are sent in this order. */
  readonly queuedAt: number;
}

/**
 * Where the outbox keeps what was written and not yet acknowledged, so that it survives a
 * restart of the app: memory ({@link MemoryOutboxStorage}, the default), IndexedDB in a browser,
 * a file in Node (`@ccs/client/node`). Implement it to keep the outbox elsewhere.
 */
export interface OutboxStorage {
  /** Every item kept, in any order. */
  load(): Promise<OutboxItem[]>;
  put(item: OutboxItem): Promise<void>;
  remove(id: string): Promise<void>;
}

/** Keeps the outbox in memory: it lasts as long as the client object. */
export class MemoryOutboxStorage implements OutboxStorage {
  private readonly items = new Map<string, OutboxItem>();

  async load(): Promise<OutboxItem[]> {
    return [...this.items.values()];
  }

  async put(item: OutboxItem): Promise<void> {
    this.items.set(item.id, item);
  }

  async remove(id: string): Promise<void> {
    this.items.delete(id);
  }
}

/** Keeps the outbox in the browser's IndexedDB (one object store), across page reloads. */
export class IndexedDbOutboxStorage implements OutboxStorage {
  private database: Promise<IDBDatabase> | undefined;

  constructor(
    /** Name of the IndexedDB database; one per device token or account, e.g. `ccs-outbox-<deviceId>`. */
    private readonly name = 'ccs-outbox',
  ) {}

  async load(): Promise<OutboxItem[]> {
    return this.request('readonly', (store) => store.getAll() as IDBRequest<OutboxItem[]>);
  }

  async put(item: OutboxItem): Promise<void> {
    await this.request('readwrite', (store) => store.put(item));
  }

  async remove(id: string): Promise<void> {
    await this.request('readwrite', (store) => store.delete(id));
  }

  private open(): Promise<IDBDatabase> {
    this.database ??= new Promise((resolve, reject) => {
      const opening = indexedDB.open(this.name, 1);
      opening.onupgradeneeded = () => opening.result.createObjectStore('items', { keyPath: 'id' });
      opening.onsuccess = () => resolve(opening.result);
      opening.onerror = () => reject(opening.error ?? new Error(`cannot open ${this.name}`));
    });
    return this.database;
  }

  private async request<T>(
    mode: IDBTransactionMode,
    run: (store: IDBObjectStore) => IDBRequest<T>,
  ): Promise<T> {
    const database = await this.open();
    return new Promise((resolve, reject) => {
      const request = run(database.transaction('items', mode).objectStore('items'));
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error ?? new Error('IndexedDB request failed'));
    });
  }
}
