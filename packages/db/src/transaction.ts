import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import type { Database } from './database.js';

/** What a transaction's work runs its queries on: drizzle over the transaction's connection. */
export type Transaction = NodePgDatabase;

/** Options of {@link inTransaction}. */
export interface TransactionOptions {
  /**
   * `repeatable-read`: every query of `work` reads one snapshot (REPEATABLE READ, READ ONLY),
   * e.g. a stream's state together with its head. @default read committed, read-write
   */
  readonly snapshot?: 'repeatable-read';
}

/**
 * Runs `work` in one transaction on a connection of its own and commits; rolls back and
 * rethrows the first error otherwise. Unlike drizzle's `db.transaction` (drizzle-orm 0.45: its
 * BEGIN runs outside its try, drizzle issues #6023, #6241), a connection that dies under the
 * transaction, BEGIN included, is always handed back: destroyed when even ROLLBACK fails, so the
 * pool never loses it for good. The error thrown is the one that failed the work, not the
 * ROLLBACK's.
 */
export async function inTransaction<T>(
  db: Database,
  work: (tx: Transaction) => Promise<T>,
  options: TransactionOptions = {},
): Promise<T> {
  const client = await db.$client.connect();
  let broken: Error | undefined;
  try {
    await client.query(
      options.snapshot === 'repeatable-read'
        ? 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY'
        : 'BEGIN',
    );
    const result = await work(drizzle(client));
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch((rollbackError: unknown) => {
      broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
    });
    throw error;
  } finally {
    // With an error, the pool destroys the connection instead of lending it again.
    client.release(broken);
  }
}
