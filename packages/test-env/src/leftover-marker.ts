import type pg from 'pg';
import { quoteIdentifier } from './test-env-info.js';

/**
 * What test-env writes on everything it makes (a database's comment, a Redis key under a test
 * prefix), so that the sweeper removes only what test-env made, and knows when.
 */
export const TEST_ENV_MARKER = 'ccs-test-env';

/** Names of the Redis key that marks a test prefix as alive: `<prefix>:ccs-test-env`. */
export const REDIS_MARKER_KEY = TEST_ENV_MARKER;

/** How long a Redis test prefix stays marked alive (a test run that lasts longer is not one). */
export const REDIS_MARKER_TTL_MS = 6 * 3_600_000;

/** A database comment: `ccs-test-env created=<ISO time>`. */
export function markerComment(now: Date = new Date()): string {
  return `${TEST_ENV_MARKER} created=${now.toISOString()}`;
}

/** When a database with this comment was made by test-env; undefined when not made by it. */
export function markedAt(comment: string | null | undefined): Date | undefined {
  const match = /^ccs-test-env created=(\S+)$/.exec(comment ?? '');
  if (!match) return undefined;
  const at = new Date(match[1]!);
  return Number.isNaN(at.getTime()) ? undefined : at;
}

/** `COMMENT ON DATABASE`: marks a database test-env just made. */
export function markDatabaseSql(client: pg.ClientBase, name: string, now?: Date): string {
  return `COMMENT ON DATABASE ${quoteIdentifier(name)} IS ${client.escapeLiteral(markerComment(now))}`;
}
