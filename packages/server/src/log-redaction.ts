// Logs never carry message bodies or SQL parameters. drizzle's DrizzleQueryError puts a failed
// query's values in its message ("Failed query: <sql>\nparams: <values>") and in `params`;
// PostgreSQL puts them in `detail` ("Key (…)=(…) already exists"), `where`, and the message of a
// data exception ('invalid input syntax for type uuid: "…"'). The `err` serializer here keeps
// what explains a failure (type, code, SQL text, stack) and drops the data it carried.
import { DbError, isDataException } from '@ccs/db';
import { pino, type DestinationStream, type LogFn, type Logger } from 'pino';

/** An error as it appears in a log line. */
export interface SerializedError {
  readonly type: string;
  readonly message: string;
  readonly stack?: string;
  readonly cause?: SerializedError;
  /** An AggregateError's errors (e.g. every address a connection attempt failed on). */
  readonly errors?: readonly SerializedError[];
  /** Kept fields ({@link KEPT_FIELDS}), and a DbError's `context`. */
  readonly [field: string]: unknown;
}

/**
 * The only fields copied from an error: they describe the failure, never the data. Everything
 * else (drizzle's `params`, PostgreSQL's `detail`, `where`, `internalQuery`, …) is dropped.
 */
const KEPT_FIELDS = [
  // Node system errors and HTTP errors
  'code',
  'errno',
  'syscall',
  'address',
  'port',
  'statusCode',
  // PostgreSQL errors (pg's DatabaseError)
  'severity',
  'schema',
  'table',
  'column',
  'dataType',
  'constraint',
  'routine',
  'position',
  // DrizzleQueryError: the SQL text, whose values are $n placeholders
  'query',
] as const;

/** drizzle's marker before a failed query's values: what follows it is dropped. */
const PARAMS_MARKER = 'params:';
const REDACTED = '[redacted]';
/** How deep a chain of causes is followed. */
const MAX_DEPTH = 8;
/** How many errors of an AggregateError are kept. */
const MAX_AGGREGATED = 10;

type ErrorLike = Readonly<Record<string, unknown>> & { readonly message: string };

function isErrorLike(value: unknown): value is ErrorLike {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { message?: unknown }).message === 'string'
  );
}

/**
 * An error message without the data it quotes: nothing after drizzle's `params:`, and for a
 * PostgreSQL data exception (SQLSTATE class 22) nothing between its first and last `"`.
 */
export function redactErrorMessage(message: string, code?: unknown): string {
  const cut = message.indexOf(PARAMS_MARKER);
  let redacted = cut === -1 ? message : `${message.slice(0, cut)}${PARAMS_MARKER} ${REDACTED}`;
  if (isDataException(code)) {
    redacted = redacted.replace(/".*"/s, `"${REDACTED}"`);
  }
  return redacted;
}

/** The stack's frames under a header rebuilt from the redacted message (V8 repeats the message). */
function redactStack(stack: unknown, header: string): string | undefined {
  if (typeof stack !== 'string') return undefined;
  const frames = stack.split('\n').filter((line) => /^\s+at /.test(line));
  return [header, ...frames].join('\n');
}

function typeOf(error: ErrorLike): string {
  const constructorName = (error.constructor as { name?: unknown } | undefined)?.name;
  if (typeof constructorName === 'string' && constructorName !== 'Object') return constructorName;
  return typeof error['name'] === 'string' ? error['name'] : 'Error';
}

function keptFields(error: ErrorLike): Record<string, string | number | boolean> {
  const kept: Record<string, string | number | boolean> = {};
  for (const field of KEPT_FIELDS) {
    const value = error[field];
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      kept[field] = value;
    }
  }
  return kept;
}

function serializeValue(value: unknown, seen: Set<object>, depth: number): SerializedError {
  if (isErrorLike(value)) return serializeErrorLike(value, seen, depth);
  return { type: typeof value, message: redactErrorMessage(String(value)) };
}

function serializeErrorLike(error: ErrorLike, seen: Set<object>, depth: number): SerializedError {
  seen.add(error);
  const type = typeOf(error);
  const message = redactErrorMessage(error.message, error['code']);
  const name = typeof error['name'] === 'string' ? error['name'] : type;
  const stack = redactStack(error['stack'], `${name}: ${message}`);
  const cause = error['cause'];
  const errors = error['errors'];
  return {
    type,
    message,
    ...keptFields(error),
    // A DbError's context names rows (ids, streams), never their contents.
    ...(error instanceof DbError && { context: error.context }),
    ...(stack !== undefined && { stack }),
    ...(isErrorLike(cause) &&
      !seen.has(cause) &&
      depth < MAX_DEPTH && { cause: serializeErrorLike(cause, seen, depth + 1) }),
    ...(Array.isArray(errors) && {
      errors: errors
        .slice(0, MAX_AGGREGATED)
        .map((inner: unknown) => serializeValue(inner, seen, depth + 1)),
    }),
  };
}

/**
 * pino's `err` serializer for this service: type, message, code, SQL text and stack of the error
 * and of its causes, without parameter values, `detail`, `where` or any other field.
 */
export function serializeError(value: unknown): SerializedError {
  return serializeValue(value, new Set(), 0);
}

/** The error a log call carries: the call's first argument, or its `err`. */
function loggedError(first: unknown): ErrorLike | undefined {
  if (typeof first !== 'object' || first === null) return undefined;
  const error = first instanceof Error ? first : (first as { err?: unknown }).err;
  return isErrorLike(error) ? error : undefined;
}

/**
 * Whether a log call's `msg` is the error's own message: none given, so pino takes the error's
 * (`logger.error(err)`, `logger.error({ err })`), or the error's passed on (fastify logs a failed
 * request as `log.error({ err }, err.message)`).
 */
function usesErrorMessage(args: readonly unknown[], error: ErrorLike): boolean {
  const [first, second] = args;
  if (second === undefined) return first === error || !('msg' in (first as object));
  return second === error.message;
}

/** pino's `logMethod` hook: a line whose `msg` is an error's message gets the redacted one. */
function redactErrorMessages(this: Logger, args: Parameters<LogFn>, method: LogFn): void {
  const error = loggedError(args[0]);
  if (error === undefined || !usesErrorMessage(args, error)) {
    method.apply(this, args);
    return;
  }
  const message = serializeError(error).message;
  method.apply(this, [args[0], message, ...args.slice(2)] as unknown as Parameters<LogFn>);
}

/** Options of {@link createServiceLogger}. */
export interface ServiceLoggerOptions {
  /** pino level, e.g. `info` or `silent`. */
  readonly level: string;
  /** Where lines go. @default stdout */
  readonly destination?: DestinationStream;
}

/**
 * The sync-server's pino logger: JSON lines tagged `service: ccs-sync-server`, whose errors
 * (`err`, and `error` for code that names it so) are serialized by {@link serializeError}.
 */
export function createServiceLogger(options: ServiceLoggerOptions): Logger {
  const loggerOptions = {
    level: options.level,
    base: { service: 'ccs-sync-server' },
    serializers: { err: serializeError, error: serializeError },
    hooks: { logMethod: redactErrorMessages },
  };
  return options.destination ? pino(loggerOptions, options.destination) : pino(loggerOptions);
}
