import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FileOutboxStorage } from '../src/node.js';
import type { OutboxItem } from '../src/outbox-storage.js';

let folder: string | undefined;

afterEach(async () => {
  if (folder) await rm(folder, { recursive: true, force: true });
  folder = undefined;
});

const item = (id: string, queuedAt: number): OutboxItem => ({
  id,
  event: 'message:send',
  payload: { conversationId: '0b6d4c1e-8a43-4d4e-9a3b-2f1d8c7e6a5b', clientId: id, body: id },
  queuedAt,
});

describe('FileOutboxStorage', () => {
  it('keeps what was put and not removed across instances (a restart of the app)', async () => {
    folder = await mkdtemp(join(tmpdir(), 'ccs-outbox-'));
    const path = join(folder, 'nested', 'outbox.json');
    const first = new FileOutboxStorage(path);
    expect(await first.load()).toEqual([]);
    await Promise.all([first.put(item('a', 1)), first.put(item('b', 2)), first.put(item('c', 3))]);
    await first.remove('b');

    const second = new FileOutboxStorage(path);
    expect((await second.load()).map((kept) => kept.id).sort()).toEqual(['a', 'c']);
    // The file holds exactly that state: the writes were applied in order, the last one last.
    const onDisk = JSON.parse(await readFile(path, 'utf8')) as OutboxItem[];
    expect(onDisk.map((kept) => kept.id).sort()).toEqual(['a', 'c']);
  });

  it('refuses a file that is not an outbox instead of starting empty over it', async () => {
    folder = await mkdtemp(join(tmpdir(), 'ccs-outbox-'));
    const path = join(folder, 'outbox.json');
    await writeFile(path, 'not json');
    await expect(new FileOutboxStorage(path).load()).rejects.toThrow(SyntaxError);
  });
});
