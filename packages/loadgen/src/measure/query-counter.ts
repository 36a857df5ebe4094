import type pg from 'pg';

/** What a pool did since the previous {@link QueryCounter.take}. */
export interface QueryCounts {
  /** Queries its clients ran (`pool.query` and queries on checked-out clients alike). */
  readonly queries: number;
  /** Checkouts of a client (`pool.query` checks one out per query). */
  readonly checkouts: number;
}

/**
 * Counts the queries a `pg` pool runs, whoever issues them (drizzle, `pool.query`, a client
 * held for a transaction): each client the pool opens gets its `query` wrapped. Diagnostics for
 * the bench's own server process; attach it before the pool's first query.
 */
export class QueryCounter {
  private queries = 0;
  private checkouts = 0;

  constructor(pool: pg.Pool) {
    pool.on('acquire', () => this.checkouts++);
    pool.on('connect', (client) => {
      const query = client.query.bind(client) as (...args: unknown[]) => unknown;
      Object.assign(client, {
        query: (...args: unknown[]): unknown => {
          this.queries++;
          return query(...args);
        },
      });
    });
  }

  take(): QueryCounts {
    const counts = { queries: this.queries, checkouts: this.checkouts };
    this.queries = 0;
    this.checkouts = 0;
    return counts;
  }
}
