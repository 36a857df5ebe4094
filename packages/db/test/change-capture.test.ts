import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChangeListener, type ChangeHint } from '../src/change-listener.js';
import { DbError } from '../src/db-error.js';
import {
  readChanges,
  readStreamHeads,
  readStreamPosition,
} from '../src/queries/change-log-queries.js';
import { insertConversation, insertDevice, insertUser } from '../src/queries/directory-queries.js';
import { insertMessage } from '../src/queries/message-queries.js';
import { freshDatabase, type FreshDatabase } from './fresh-database.js';

let database: FreshDatabase;
let authorId: string;
let deviceId: string;

beforeAll(async () => {
  database = await freshDatabase();
  const user = await insertUser(database.db, { name: 'ada' });
  const device = await insertDevice(database.db, { userId: user.id, name: 'laptop' });
  authorId = user.id;
  deviceId = device.id;
});

afterAll(async () => {
  await database.drop();
});

async function newConversation(): Promise<string> {
  const conversation = await insertConversation(database.db, { title: 't' }, [authorId]);
  return conversation.id;
}

/** The stream's head before any message: the conversation and its member were captured too. */
const CREATED_HEAD = 2;

async function messageChanges(conversationId: string) {
  const changes = await readChanges(database.db, `conversation:${conversationId}`, 0, 1000);
  return changes.filter((change) => change.kind.startsWith('message.'));
}

describe('change capture', () => {
  it('appends a change for a message inserted with plain SQL, as psql would', async () => {
    const conversationId = await newConversation();
    await database.pool.query(
      `INSERT INTO messages (conversation_id, author_id, device_id, client_id, body)
       VALUES ($1, $2, $3, 'raw-1', 'from psql')`,
      [conversationId, authorId, deviceId],
    );
    const changes = await messageChanges(conversationId);
    expect(changes).toHaveLength(1);
    expect(changes[0]).toMatchObject({
      seq: CREATED_HEAD + 1,
      kind: 'message.created',
      payload: { conversationId, body: 'from psql', clientId: 'raw-1', deviceId, authorId },
    });
  });

  it('numbers a stream 1, 2, 3 … without gaps under concurrent writers', async () => {
    const conversationId = await newConversation();
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        insertMessage(database.db, {
          conversationId,
          authorId,
          deviceId,
          clientId: `c-${i}`,
          body: `m${i}`,
        }),
      ),
    );
    const stream = `conversation:${conversationId}`;
    const changes = await readChanges(database.db, stream, 0, 100);
    expect(changes.map((change) => change.seq)).toEqual(
      Array.from({ length: 40 + CREATED_HEAD }, (_, i) => i + 1),
    );
    expect((await readStreamHeads(database.db, [stream])).get(stream)).toBe(40 + CREATED_HEAD);
  });

  it('writes nothing for a rolled-back insert', async () => {
    const conversationId = await newConversation();
    const client = await database.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(
        `INSERT INTO messages (conversation_id, author_id, device_id, client_id, body)
         VALUES ($1, $2, $3, 'rb', 'never')`,
        [conversationId, authorId, deviceId],
      );
      await client.query('ROLLBACK');
    } finally {
      client.release();
    }
    const stream = `conversation:${conversationId}`;
    expect(await messageChanges(conversationId)).toEqual([]);
    expect((await readStreamHeads(database.db, [stream])).get(stream)).toBe(CREATED_HEAD);
  });
});

describe('insertMessage', () => {
  it('returns the seq of the committed message', async () => {
    const conversationId = await newConversation();
    const first = await insertMessage(database.db, {
      conversationId,
      authorId,
      deviceId,
      clientId: 'a',
      body: 'one',
    });
    const second = await insertMessage(database.db, {
      conversationId,
      authorId,
      deviceId,
      clientId: 'b',
      body: 'two',
    });
    expect([first.seq, second.seq]).toEqual([CREATED_HEAD + 1, CREATED_HEAD + 2]);
    expect(second).toMatchObject({ stream: `conversation:${conversationId}`, created: true });
  });

  it('is idempotent on (device, client id): a retry returns the same row and writes nothing', async () => {
    const conversationId = await newConversation();
    const input = { conversationId, authorId, deviceId, clientId: 'retry-me', body: 'hello' };
    const first = await insertMessage(database.db, input);
    const retries = await Promise.all([
      insertMessage(database.db, input),
      insertMessage(database.db, input),
    ]);
    for (const retry of retries) {
      expect(retry).toMatchObject({ created: false, seq: first.seq, stream: first.stream });
      expect(retry.message.id).toBe(first.message.id);
    }
    expect(await messageChanges(conversationId)).toHaveLength(1);
  });
});

describe('concurrent writers of several streams', () => {
  it('do not deadlock when two conversations of the same two users are created at once', async () => {
    const [a, b] = await Promise.all([
      insertUser(database.db, { name: 'a' }),
      insertUser(database.db, { name: 'b' }),
    ]);
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        insertConversation(database.db, { title: `dm ${i}` }, i % 2 ? [a.id, b.id] : [b.id, a.id]),
      ),
    );
    const { head } = await readStreamPosition(database.db, `user:${a.id}`);
    expect(head).toBe(1 + 10);
  });
});

describe('insertMessage ids and retries', () => {
  it('names the stream from the stored id, whatever the case of the id it was given', async () => {
    const conversationId = await newConversation();
    const stored = await insertMessage(database.db, {
      conversationId: conversationId.toUpperCase(),
      authorId,
      deviceId,
      clientId: 'upper',
      body: 'x',
    });
    expect(stored.stream).toBe(`conversation:${conversationId}`);
    expect(stored.seq).toBe(CREATED_HEAD + 1);
  });

  it('answers a retry whose change retention removed with a conflict, not a crash', async () => {
    const conversationId = await newConversation();
    const input = { conversationId, authorId, deviceId, clientId: 'old', body: 'x' };
    await insertMessage(database.db, input);
    await database.pool.query(`DELETE FROM change_log WHERE stream = $1`, [
      `conversation:${conversationId}`,
    ]);
    const error = await insertMessage(database.db, input).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DbError);
    expect(error).toMatchObject({ code: 'conflict' });
  });
});

describe('insertMessage errors', () => {
  it('refuses a message to a conversation that does not exist with not_found, writing nothing', async () => {
    const missing = '00000000-0000-4000-8000-000000000000';
    const error = await insertMessage(database.db, {
      conversationId: missing,
      authorId,
      deviceId,
      clientId: 'orphan',
      body: 'x',
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DbError);
    expect(error).toMatchObject({ code: 'not_found' });
    expect(await readChanges(database.db, `conversation:${missing}`, 0, 10)).toEqual([]);
  });
});

describe('ChangeListener', () => {
  it('emits a hint after commit for every change', async () => {
    const conversationId = await newConversation();
    const listener = new ChangeListener({ url: database.url });
    const hints: ChangeHint[] = [];
    listener.on('hint', (hint) => hints.push(hint));
    await listener.start();
    try {
      await insertMessage(database.db, {
        conversationId,
        authorId,
        deviceId,
        clientId: 'n',
        body: 'x',
      });
      await expect
        .poll(() => hints, { timeout: 5_000 })
        .toContainEqual({
          stream: `conversation:${conversationId}`,
          seq: CREATED_HEAD + 1,
        });
    } finally {
      await listener.stop();
    }
  });

  it('reconnects by itself after its backend is terminated', async () => {
    const conversationId = await newConversation();
    const listener = new ChangeListener({ url: database.url, reconnectDelayMs: 50 });
    const hints: ChangeHint[] = [];
    let listening = 0;
    listener.on('hint', (hint) => hints.push(hint));
    listener.on('listening', () => listening++);
    await listener.start();
    try {
      await database.pool.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'ccs-change-listener' AND datname = current_database()",
      );
      await expect.poll(() => listening, { timeout: 5_000 }).toBe(2);
      await insertMessage(database.db, {
        conversationId,
        authorId,
        deviceId,
        clientId: 'r',
        body: 'x',
      });
      await expect.poll(() => hints.length, { timeout: 5_000 }).toBe(1);
    } finally {
      await listener.stop();
    }
  });
});
