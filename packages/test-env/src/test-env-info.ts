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
