import { randomUUID } from 'node:crypto';
import { createDatabase, DbError, insertMessage, schema, type Database } from '@ccs/db';
import { seedConversationScenario, type SignedDevice } from '@ccs/fixtures';
import { TestClient } from '@ccs/test-clients';
import type { TestDatabase } from '@ccs/test-env/vitest';
import { pino } from 'pino';
import { describe, expect } from 'vitest';
import { redactErrorMessage, serializeError } from '../src/log-redaction.js';
import { TEST_SERVER_JWT_SECRET as jwtSecret } from '@ccs/test-server';
import { test } from './server-fixtures.js';
import { capturingLogger, closeWithin, startLoggedServer } from './logged-server.js';

/** What a test knows about one send: who sends it, into which conversation, with what body. */
interface SendInput {
  readonly device: SignedDevice;
  readonly conversationId: string;
  readonly body: string;
}

/** Inserts a message row through drizzle (no gateway, no translation); resolves with the error. */
async function failedInsert(db: Database, input: SendInput): Promise<Error> {
  const failure = await db
    .insert(schema.messages)
    .values({
      conversationId: input.conversationId,
      authorId: input.device.userId,
      deviceId: input.device.id,
      clientId: `client-${randomUUID()}`,
      body: input.body,
    })
    .then(
      () => undefined,
      (error: unknown) => error,
    );
  if (!(failure instanceof Error)) throw new Error('the insert was expected to fail');
  return failure;
}

async function seededDevice(database: TestDatabase): Promise<SignedDevice> {
  const scenario = await seedConversationScenario(database.db, {
    jwtSecret,
    devicesPerUser: [1],
  });
  return scenario.users[0]!.devices[0]!;
}

const secretBody = (): string => `SECRET-BODY-${randomUUID()}`;

describe('redactErrorMessage', () => {
  test('cuts what follows drizzle’s params marker', () => {
    expect(redactErrorMessage('Failed query: select $1\nparams: SECRET')).toBe(
      'Failed query: select $1\nparams: [redacted]',
    );
  });

  test('removes the quoted value of a data exception, keeps quoted names otherwise', () => {
    expect(redactErrorMessage('invalid input syntax for type uuid: "SECRET"', '22P02')).toBe(
      'invalid input syntax for type uuid: "[redacted]"',
    );
    const foreignKey = 'violates foreign key constraint "messages_conversation_id_fk"';
    expect(redactErrorMessage(foreignKey, '23503')).toBe(foreignKey);
  });
});

describe('service logger', () => {
  test('logs a failed insert with its type, SQL, code and stack, never its body or params', async ({
    database,
  }) => {
    const device = await seededDevice(database);
    const body = secretBody();
    const conversationId = randomUUID();
    const error = await failedInsert(database.db, { device, conversationId, body });
    // What pino's own serializer would have logged: the body and the missing row's key.
    const unredacted = JSON.stringify(pino.stdSerializers.err(error));
    expect(unredacted).toContain(body);
    expect(unredacted).toContain(conversationId);

    const { logger, text, lines } = capturingLogger();
    logger.error({ err: error }, 'insert failed');
    expect(text()).not.toContain(body);
    expect(text()).not.toContain(conversationId);
    const [line] = lines();
    expect(line!.err).toMatchObject({
      type: 'DrizzleQueryError',
      query: expect.stringContaining('insert into "messages"'),
      message: expect.stringMatching(
        /^Failed query: insert into "messages".*\nparams: \[redacted]$/s,
      ),
      stack: expect.stringMatching(/\n\s+at /),
      cause: {
        type: 'DatabaseError',
        code: '23503',
        constraint: expect.stringContaining('conversation'),
        stack: expect.stringMatching(/\n\s+at /),
      },
    });
    expect(line!.err).not.toHaveProperty('params');
    expect(line!.err!.cause).not.toHaveProperty('detail');
  });

  test('redacts the line’s msg when it is the error’s own message', async ({ database }) => {
    const device = await seededDevice(database);
    const body = secretBody();
    const error = await failedInsert(database.db, { device, conversationId: randomUUID(), body });
    const { logger, text, lines } = capturingLogger();
    // pino takes the error's message as msg when none is given; fastify passes it on.
    logger.error(error);
    logger.warn({ err: error });
    logger.error({ err: error }, error.message);
    logger.info({ err: error }, 'a message of its own');
    expect(text()).not.toContain(body);
    const redacted = expect.stringMatching(/^Failed query: .*params: \[redacted]$/s);
    expect(lines().map((line) => line.msg)).toEqual([
      redacted,
      redacted,
      redacted,
      'a message of its own',
    ]);
  });

  test('redacts a statement cancelled by statement_timeout, also inside a DbError', async ({
    database,
  }) => {
    const device = await seededDevice(database);
    const body = secretBody();
    const impatient = createDatabase({ url: database.url, statementTimeoutMs: 100 });
    const holder = await database.pool.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('LOCK TABLE messages IN ACCESS EXCLUSIVE MODE');
      const error = await failedInsert(impatient.db, {
        device,
        conversationId: randomUUID(),
        body,
      });
      expect(error.message).toContain(body);
      const wrapped = new DbError(
        'unavailable',
        'write failed',
        { deviceId: device.id },
        {
          cause: error,
        },
      );
      const { logger, text, lines } = capturingLogger();
      logger.error({ err: wrapped }, 'write failed');
      expect(text()).not.toContain(body);
      expect(lines()[0]!.err).toMatchObject({
        type: 'DbError',
        code: 'unavailable',
        context: { deviceId: device.id },
        cause: { type: 'DrizzleQueryError', cause: { code: '57014' } },
      });
    } finally {
      await holder.query('ROLLBACK');
      holder.release();
      await impatient.close();
    }
  });

  test('redacts the value PostgreSQL quotes in a data exception', async ({ database }) => {
    const device = await seededDevice(database);
    const notAnId = `SECRET-ID-${randomUUID()}`;
    const error = await failedInsert(database.db, {
      device,
      conversationId: notAnId,
      body: 'x',
    });
    const { logger, text, lines } = capturingLogger();
    logger.error({ err: error }, 'insert failed');
    expect(JSON.stringify(pino.stdSerializers.err(error))).toContain(notAnId);
    expect(text()).not.toContain(notAnId);
    expect(lines()[0]!.err!.cause).toMatchObject({
      code: '22P02',
      message: 'invalid input syntax for type uuid: "[redacted]"',
    });
  });

  test('redacts a DbError from insertMessage and keeps the ids of its context', async ({
    database,
  }) => {
    const device = await seededDevice(database);
    const body = secretBody();
    const conversationId = randomUUID();
    const error = await insertMessage(database.db, {
      conversationId,
      authorId: device.userId,
      deviceId: device.id,
      clientId: 'c1',
      body,
    }).catch((failure: unknown) => failure);
    expect(serializeError(error)).toMatchObject({
      type: 'DbError',
      code: 'not_found',
      context: { conversationId, deviceId: device.id },
      cause: { type: 'DrizzleQueryError', cause: { code: '23503' } },
    });
    expect(JSON.stringify(serializeError(error))).not.toContain(body);
  });
});

describe('sync-server error log', () => {
  test('a send that fails unexpectedly is logged by the gateway without its body', async ({
    database,
    testEnv,
    redisNamespace,
  }) => {
    const scenario = await seedConversationScenario(database.db, {
      jwtSecret,
      devicesPerUser: [1],
    });
    const body = secretBody();
    // The row's body reaches PostgreSQL's `detail` as well as drizzle's `params`.
    await database.pool.query(`
      CREATE FUNCTION refuse_secret_bodies() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.body LIKE 'SECRET-BODY-%' THEN
          RAISE EXCEPTION 'refused by a test trigger' USING DETAIL = 'body: ' || NEW.body;
        END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER refuse_secret_bodies BEFORE INSERT ON messages
        FOR EACH ROW EXECUTE FUNCTION refuse_secret_bodies();`);
    const { logger, text, lines } = capturingLogger();
    const server = await startLoggedServer({ database, testEnv, redisNamespace }, logger);
    const client = new TestClient({ url: server.url, token: scenario.users[0]!.devices[0]!.token });
    try {
      await client.open();
      const ack = await client.emitWithAck('message:send', {
        conversationId: scenario.conversation.id,
        clientId: 'secret-1',
        body,
      });
      expect(ack).toMatchObject({ ok: false, error: { code: 'internal' } });
      const logged = lines().find((line) => line.err?.['type'] === 'DrizzleQueryError');
      expect(logged?.err).toMatchObject({
        type: 'DrizzleQueryError',
        query: expect.stringContaining('insert into "messages"'),
        cause: { code: 'P0001', message: 'refused by a test trigger' },
      });
      expect(text()).not.toContain(body);
    } finally {
      client.close();
      await closeWithin(server, 10_000);
    }
  });
});
