import type { PoolClient } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { streamName, type ChangeEvent } from '@ccs/protocol';
import { ChangeTail } from '../src/change-tail.js';
import { DbError } from '../src/db-error.js';
import { readChanges, readStreamPosition } from '../src/queries/change-log-queries.js';
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

const INSERT_MESSAGE = `INSERT INTO messages (conversation_id, author_id, device_id, client_id, body)
  VALUES ($1, $2, $3, $4, 'x')`;

/** Writes one message in its own transaction with plain SQL, as psql would; resolves after commit. */
async function writeMessage(conversationId: string, clientId: string): Promise<void> {
  await database.pool.query(INSERT_MESSAGE, [conversationId, authorId, deviceId, clientId]);
}

/** Inserts a message in a transaction, runs `meanwhile` while it is open, then ends it with `end`. */
async function messageInTransaction(
  conversationId: string,
  clientId: string,
  meanwhile: (client: PoolClient) => Promise<void>,
  end: 'COMMIT' | 'ROLLBACK' = 'COMMIT',
): Promise<void> {
  const client = await database.pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(INSERT_MESSAGE, [conversationId, authorId, deviceId, clientId]);
    await meanwhile(client);
    await client.query(end);
  } finally {
    client.release();
  }
}

/** The stream's head before any message: the conversation and its member were captured too. */
const CREATED_HEAD = 2;

async function messageChanges(conversationId: string) {
  const changes = await readChanges(
    database.db,
    streamName('conversation', conversationId),
    0,
    1000,
  );
  return changes.filter((change) => change.kind.startsWith('message.'));
}

describe('change capture', () => {
  it('appends a change for a message inserted with plain SQL, as psql would', async () => {
    const conversationId = await newConversation();
    await writeMessage(conversationId, 'raw-1');
    const changes = await messageChanges(conversationId);
    expect(changes).toHaveLength(1);
    expect(changes[0]).toMatchObject({
      seq: CREATED_HEAD + 1,
      kind: 'message.created',
      data: { conversationId, body: 'x', clientId: 'raw-1', deviceId, authorId },
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
    const stream = streamName('conversation', conversationId);
    const changes = await readChanges(database.db, stream, 0, 100);
    expect(changes.map((change) => change.seq)).toEqual(
      Array.from({ length: 40 + CREATED_HEAD }, (_, i) => i + 1),
    );
    expect((await readStreamPosition(database.db, stream)).head).toBe(40 + CREATED_HEAD);
  });

  it('writes nothing for a rolled-back insert', async () => {
    const conversationId = await newConversation();
    await messageInTransaction(conversationId, 'rb', async () => undefined, 'ROLLBACK');
    const stream = streamName('conversation', conversationId);
    expect(await messageChanges(conversationId)).toEqual([]);
    expect((await readStreamPosition(database.db, stream)).head).toBe(CREATED_HEAD);
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
    const { head } = await readStreamPosition(database.db, streamName('user', a.id));
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

  it('answers a retry whose change retention removed with the seq the message keeps', async () => {
    const conversationId = await newConversation();
    const input = { conversationId, authorId, deviceId, clientId: 'old', body: 'x' };
    const first = await insertMessage(database.db, input);
    await database.pool.query(`DELETE FROM change_log WHERE stream = $1`, [
      `conversation:${conversationId}`,
    ]);
    const retry = await insertMessage(database.db, input);
    expect(retry).toMatchObject({ created: false, seq: first.seq });
    expect(retry.message.id).toBe(first.message.id);
  });

  it('leaves no gap in seq when a psql writer retries with ON CONFLICT DO NOTHING', async () => {
    const conversationId = await newConversation();
    const upsert = `${INSERT_MESSAGE} ON CONFLICT (device_id, client_id) DO NOTHING`;
    await database.pool.query(upsert, [conversationId, authorId, deviceId, 'twice']);
    await database.pool.query(upsert, [conversationId, authorId, deviceId, 'twice']);
    await writeMessage(conversationId, 'after');
    const changes = await readChanges(
      database.db,
      streamName('conversation', conversationId),
      0,
      10,
    );
    expect(changes.map((change) => change.seq)).toEqual([1, 2, 3, 4]);
    const { rows } = await database.pool.query<{ client_id: string; seq: string }>(
      'SELECT client_id, seq FROM messages WHERE conversation_id = $1 ORDER BY seq',
      [conversationId],
    );
    expect(rows.map((row) => [row.client_id, Number(row.seq)])).toEqual([
      ['twice', CREATED_HEAD + 1],
      ['after', CREATED_HEAD + 2],
    ]);
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
    expect(await readChanges(database.db, streamName('conversation', missing), 0, 10)).toEqual([]);
  });
});

/** Reads the tail until a read comes back with nothing; returns every change read. */
async function readAll(tail: ChangeTail): Promise<ChangeEvent[]> {
  const changes: ChangeEvent[] = [];
  for (;;) {
    const read = await tail.read();
    changes.push(...read.changes);
    if (read.changes.length === 0) return changes;
  }
}

const clientIds = (changes: readonly ChangeEvent[]) =>
  changes.flatMap((change) => (change.kind === 'message.created' ? [change.data.clientId] : []));

describe('ChangeTail', () => {
  it('reads each change committed after its first read once, and none from before', async () => {
    const conversationId = await newConversation();
    await writeMessage(conversationId, 'before');
    const tail = new ChangeTail(database.db);
    expect((await tail.read()).changes).toEqual([]);
    await writeMessage(conversationId, 'after-1');
    await writeMessage(conversationId, 'after-2');
    expect(clientIds(await readAll(tail))).toEqual(['after-1', 'after-2']);
    expect(await readAll(tail)).toEqual([]);
  });

  it('reads a transaction that took its position early when it commits, without holding back later ones', async () => {
    const [early, late] = [await newConversation(), await newConversation()];
    const tail = new ChangeTail(database.db);
    await tail.read();
    await messageInTransaction(early, 'early', async () => {
      await writeMessage(late, 'late');
      // A cursor over a global serial or over xid order would now stand past 'early'.
      expect(clientIds(await readAll(tail))).toEqual(['late']);
    });
    expect(clientIds(await readAll(tail))).toEqual(['early']);
  });

  it('reads a transaction larger than its batch in several reads, each change once', async () => {
    const conversationId = await newConversation();
    const tail = new ChangeTail(database.db, { batchSize: 3 });
    await tail.read();
    await database.pool.query(
      `INSERT INTO messages (conversation_id, author_id, device_id, client_id, body)
       SELECT $1, $2, $3, 'bulk-' || g, 'x' FROM generate_series(1, 10) g`,
      [conversationId, authorId, deviceId],
    );
    await writeMessage(conversationId, 'single');
    const reads = [];
    for (let read = await tail.read(); ; read = await tail.read()) {
      reads.push(read);
      if (!read.more) break;
    }
    expect(reads.slice(0, -1).every((read) => read.changes.length === 3)).toBe(true);
    const changes = reads.flatMap((read) => read.changes);
    expect(clientIds(changes)).toEqual([
      ...Array.from({ length: 10 }, (_, i) => `bulk-${i + 1}`),
      'single',
    ]);
    expect(changes.map((change) => change.seq)).toEqual(
      Array.from({ length: 11 }, (_, i) => CREATED_HEAD + 1 + i),
    );
  });

  it('gives the commit time as committedAt, the time of the write as writtenAt', async () => {
    const conversationId = await newConversation();
    const tail = new ChangeTail(database.db);
    await tail.read();
    await messageInTransaction(conversationId, 'held', async (client) => {
      await client.query('SELECT pg_sleep(0.3)');
    });
    const [change] = await readAll(tail);
    const heldMs = Date.parse(change!.committedAt) - Date.parse(change!.writtenAt);
    const { rows } = await database.pool.query<{ on: boolean }>(
      `SELECT current_setting('track_commit_timestamp')::boolean AS on`,
    );
    // Without track_commit_timestamp PostgreSQL knows no commit time: the write time stands in.
    if (rows[0]!.on) expect(heldMs).toBeGreaterThanOrEqual(250);
    else expect(heldMs).toBe(0);
  });
});

describe('ChangeTail read cost', () => {
  it('is never compiled by JIT, however large the planner thinks the log is', async () => {
    // With jit_above_cost at 0 this session compiles every query, as the default 100,000 does
    // the read's generic plan once change_log holds about a million rows (it costs `xid >= $2`
    // at a third of the table): 15-40 ms of LLVM per read, for a read of a few rows.
    // auto_explain shows each plan, the read's own (nested in ccs_committed_changes) included.
    const client = await database.pool.connect();
    const plans: string[] = [];
    client.on('notice', (notice) => plans.push(notice.message ?? ''));
    try {
      const available = await client.query<{ ok: boolean }>('SELECT pg_jit_available() AS ok');
      expect(
        available.rows[0]!.ok,
        'this PostgreSQL cannot JIT: the test would prove nothing',
      ).toBe(true);
      await client.query("LOAD 'auto_explain'");
      for (const setting of [
        'auto_explain.log_min_duration = 0',
        'auto_explain.log_nested_statements = on',
        'auto_explain.log_level = notice',
        'jit = on',
        'jit_above_cost = 0',
      ]) {
        await client.query(`SET ${setting}`);
      }
      await client.query('SELECT count(*) FROM change_log');
      expect(plans.find((plan) => plan.includes('FROM change_log'))).toContain('JIT:');
      await client.query(`SELECT * FROM ccs_committed_changes('{}', '0', '{}', '{}', '{}', 10)`);
      const read = plans.find((plan) => plan.includes('pg_current_snapshot()'));
      expect(read).toBeDefined();
      expect(read).not.toContain('JIT:');
    } finally {
      client.release(true);
    }
  });
});

describe('ChangeTail under concurrent writers', () => {
  it('reads every committed change exactly once, whatever the batch cuts', async () => {
    const conversations = await Promise.all(Array.from({ length: 3 }, () => newConversation()));
    for (const batchSize of [1, 2, 7]) {
      const tail = new ChangeTail(database.db, { batchSize });
      await tail.read();
      const read: ChangeEvent[] = [];
      let writing = true;
      const reader = (async () => {
        while (writing) read.push(...(await tail.read()).changes);
      })();
      // Writers of one to three rows per transaction, held open for random times, some rolled
      // back: transactions take their xids in one order and commit in another.
      await Promise.all(
        Array.from({ length: 6 }, async (_, writer) => {
          for (let t = 0; t < 8; t++) {
            const rows = 1 + ((writer + t) % 3);
            await messageInTransaction(
              conversations[(writer + t) % 3]!,
              `b${batchSize}-w${writer}-t${t}-r0`,
              async (client) => {
                for (let r = 1; r < rows; r++) {
                  // One stream per transaction: two would lock heads in any order (deadlocks).
                  await client.query(INSERT_MESSAGE, [
                    conversations[(writer + t) % 3],
                    authorId,
                    deviceId,
                    `b${batchSize}-w${writer}-t${t}-r${r}`,
                  ]);
                }
                await client.query('SELECT pg_sleep($1)', [((writer * 7 + t * 3) % 5) / 200]);
              },
              (writer + t) % 5 === 0 ? 'ROLLBACK' : 'COMMIT',
            );
          }
        }),
      );
      writing = false;
      await reader;
      read.push(...(await readAll(tail)));
      const key = (change: ChangeEvent) => `${change.stream}#${change.seq}`;
      const committed = (
        await Promise.all(
          conversations.map((id) =>
            readChanges(database.db, streamName('conversation', id), 0, 10_000),
          ),
        )
      )
        .flat()
        .filter(
          (change) =>
            change.kind === 'message.created' &&
            clientIds([change])[0]!.startsWith(`b${batchSize}-`),
        );
      const mine = read.filter((change) => clientIds([change])[0]?.startsWith(`b${batchSize}-`));
      expect(mine.map(key).sort()).toEqual(committed.map(key).sort());
      expect(new Set(mine.map(key)).size).toBe(mine.length);
    }
  });
});

describe('the write path', () => {
  it('sends no NOTIFY: nothing in the schema calls pg_notify', async () => {
    const { rows } = await database.pool.query<{ name: string }>(
      `SELECT proname AS name FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
       WHERE n.nspname = 'public' AND p.prosrc ILIKE '%notify%'`,
    );
    expect(rows).toEqual([]);
  });
});
