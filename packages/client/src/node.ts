// `@ccs/client/node`: what only Node has (the file system). The browser bundle never loads it.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { OutboxItem, OutboxStorage } from './outbox-storage.js';

/**
 * Keeps the outbox in a JSON file, rewritten atomically (a temporary file renamed over it) on
 * every change, so a crash leaves the previous or the next state, never half of one.
 */
export class FileOutboxStorage implements OutboxStorage {
  private items: Map<string, OutboxItem> | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly path: string) {}

  async load(): Promise<OutboxItem[]> {
    return [...(await this.loaded()).values()];
  }

  async put(item: OutboxItem): Promise<void> {
    (await this.loaded()).set(item.id, item);
    await this.save();
  }

  async remove(id: string): Promise<void> {
    if ((await this.loaded()).delete(id)) await this.save();
  }

  private async loaded(): Promise<Map<string, OutboxItem>> {
    if (!this.items) {
      const text = await readFile(this.path, 'utf8').catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return '[]';
        throw error;
      });
      this.items ??= new Map((JSON.parse(text) as OutboxItem[]).map((item) => [item.id, item]));
    }
    return this.items;
  }

  /** Writes one after the other, each the state at its turn. */
  private save(): Promise<void> {
    // After the previous save, failed or not: one failed write must not fail every later one.
    this.writing = this.writing
      .catch(() => undefined)
      .then(async () => {
        const temporary = `${this.path}.${process.pid}.tmp`;
        await mkdir(dirname(this.path), { recursive: true });
        await writeFile(temporary, JSON.stringify([...this.items!.values()]));
        await rename(temporary, this.path);
      });
    return this.writing;
  }
}
export type { OutboxItem, OutboxStorage } from './outbox-storage.js';
