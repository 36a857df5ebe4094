import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { explainDbError } from '../src/db-error.js';
import { PG_ERROR, pgErrorCode } from '../src/pg-error-codes.js';
import { findUser } from '../src/queries/directory-queries.js';
import { insertMessage } from '../src/queries/message-queries.js';
import { freshDatabase, type FreshDatabase } from './fresh-database.js';

let database: FreshDatabase | undefined;

afterEach(async () => {
  await database?.drop();
  database = undefined;
});

describe('PostgreSQL error codes, read in one place', () => {
  it('finds the SQLSTATE under drizzle and says to migrate an empty database', async () => {
    database = await freshDatabase({ migrate: false });
    const error: unknown = await findUser(database.db, randomUUID()).catch((e: unknown) => e);
    expect(pgErrorCode(error)).toBe(PG_ERROR.undefinedTable);
    expect(explainDbError(error)).toMatch(
      /relation "users" does not exist: migrate the database first/,
    );
    // The query's parameters are not in the explanation.
    expect(explainDbError(error)).not.toMatch(/params/);
  });

  it('turns a foreign key violation into not_found', async () => {
    database = await freshDatabase();
    const error: unknown = await insertMessage(database.db, {
      conversationId: randomUUID(),
      authorId: randomUUID(),
      deviceId: randomUUID(),
      clientId: 'c1',
      body: 'hello',
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'DbError', code: 'not_found' });
    expect(pgErrorCode(error)).toBe(PG_ERROR.foreignKeyViolation);
  });
});
