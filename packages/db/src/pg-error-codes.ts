/**
 * The PostgreSQL error codes (SQLSTATE) CCS acts on, read in this one place. See
 * https://www.postgresql.org/docs/current/errcodes-appendix.html
 */
export const PG_ERROR = {
  /** A row points at a conversation, user or device that does not exist. */
  foreignKeyViolation: '23503',
  /** A unique index refused a second row with the same key. */
  uniqueViolation: '23505',
  /** The database exists but was not migrated. */
  undefinedTable: '42P01',
} as const;

/** SQLSTATE class 22, data exception: its message quotes the offending value. */
const DATA_EXCEPTION_CLASS = '22';

/** The SQLSTATE of `error` or of the first of its causes that has one. */
export function pgErrorCode(error: unknown): string | undefined {
  for (let current = error, depth = 0; current && depth < 8; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Whether a SQLSTATE is a data exception, whose message quotes the value it refused. */
export function isDataException(code: unknown): boolean {
  return typeof code === 'string' && code.startsWith(DATA_EXCEPTION_CLASS);
}
