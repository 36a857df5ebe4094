/** What the global setup hands every test worker (vitest `provide`/`inject`). */
export interface TestEnvInfo {
  /** A connection string to a maintenance database, used to create and drop test databases. */
  readonly adminUrl: string;
  /** The migrated template database that every test database is cloned from. */
  readonly templateDatabase: string;
  /** Redis connection string; isolation comes from per-test key prefixes. */
  readonly redisUrl: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    ccsTestEnv: TestEnvInfo;
  }
}

/** Replaces the database name of a PostgreSQL connection string. */
export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/** Quotes an identifier for SQL; test database names are generated, but never trust that. */
export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * The admin (maintenance database) and Redis URLs tests use: `CCS_TEST_DATABASE_URL`, else
 * `DATABASE_URL`, else the local default; `REDIS_URL`, else the local default.
 */
export function testEnvUrls(env: NodeJS.ProcessEnv = process.env): {
  readonly adminUrl: string;
  readonly redisUrl: string;
} {
  return {
    adminUrl:
      env['CCS_TEST_DATABASE_URL'] ??
      env['DATABASE_URL'] ??
      'postgres://postgres@127.0.0.1:5432/postgres',
    redisUrl: env['REDIS_URL'] ?? 'redis://127.0.0.1:6379',
  };
}
