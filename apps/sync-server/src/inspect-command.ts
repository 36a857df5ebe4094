import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  createDatabase,
  explainDbError,
  readChanges,
  readStreamPosition,
  redactUrl,
  type Database,
} from '@ccs/db';
import type { FailedJob } from '@ccs/jobs';
import { streamNameSchema, type ChangeEvent, type StreamName } from '@ccs/protocol';
import { Command, InvalidArgumentError, Option } from 'commander';
import type {
  DeviceResyncView,
  DeviceView,
  StreamResyncView,
  StreamSubscribersView,
} from '@ccs/server';

/** Where the admin API is looked for without `--url` or `CCS_ADMIN_URL`. */
export const DEFAULT_ADMIN_URL = 'http://127.0.0.1:3000';
/** The log is read here without `DATABASE_URL` (the server's default too). */
const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/ccs';
/** Changes read from the log per query. */
const READ_BATCH = 1000;
/** An admin request that takes longer is given up. */
const REQUEST_TIMEOUT_MS = 15_000;

/**
 * A failure of `ccs-inspect`, with a code: the admin API's wire code (`unauthorized`,
 * `invalid_payload`, `not_found`, …), or `unreachable` (no answer from the admin API),
 * `database` (the log could not be read), `invalid_arguments` (a bad command line).
 */
export class InspectError extends Error {
  override readonly name = 'InspectError';
  constructor(
    readonly code: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** Options of {@link createInspectCli} beyond where it prints and reads its environment. */
export interface InspectCliOptions {
  /** Stops `tail` (besides SIGINT and `--count`). */
  readonly signal?: AbortSignal;
}

/** The rows of a table as lines: columns padded to their widest cell, two spaces apart. */
export function formatTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
): string[] {
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  return [headers, ...rows].map((cells) =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column]!)))
      .join('  ')
      .trimEnd(),
  );
}

/** A value for a table cell: `-` for none. */
const cell = (value: string | number | null | undefined): string =>
  value === null || value === undefined ? '-' : String(value);

/** How long ago an ISO time was, for people (`2.4 s ago`); `-` for null. */
const ago = (iso: string | null): string =>
  iso === null ? '-' : `${(Math.max(0, Date.now() - Date.parse(iso)) / 1000).toFixed(1)} s ago`;

const TAIL_HEADERS = ['SEQ', 'COMMITTED', 'KIND', 'DATA'] as const;
/** Widths of a streamed change row (a tail cannot measure rows it has not read yet). */
const TAIL_WIDTHS = [7, 24, 28] as const;
/** A change's data, on one line, cut to this many characters in a table. */
const DATA_WIDTH = 100;

/** One change as a table row (fixed widths, so that the rows of a tail line up). */
export function formatChangeRow(change: ChangeEvent): string {
  const data = JSON.stringify(change.data);
  return [
    String(change.seq).padStart(TAIL_WIDTHS[0]),
    change.committedAt.padEnd(TAIL_WIDTHS[1]),
    change.kind.padEnd(TAIL_WIDTHS[2]),
    data.length > DATA_WIDTH ? `${data.slice(0, DATA_WIDTH - 1)}…` : data,
  ].join('  ');
}

function changeHeader(): string {
  return [
    TAIL_HEADERS[0].padStart(TAIL_WIDTHS[0]),
    TAIL_HEADERS[1].padEnd(TAIL_WIDTHS[1]),
    TAIL_HEADERS[2].padEnd(TAIL_WIDTHS[2]),
    TAIL_HEADERS[3],
  ].join('  ');
}

/** A seq given on the command line: an integer of at least `min`. */
function seqParser(min: number) {
  return (text: string): number => {
    const value = Number(text);
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < min) {
      throw new InvalidArgumentError(`expected an integer of at least ${min}`);
    }
    return value;
  };
}

/** A stream name from the command line, as the server reads it (lowercased id). */
function parseStream(text: string): StreamName {
  const parsed = streamNameSchema.safeParse(text);
  if (!parsed.success) {
    throw new InspectError(
      'invalid_payload',
      `"${text}" is not a stream name: expected "<conversation|workspace|user>:<uuid>"`,
    );
  }
  return parsed.data;
}

/** One admin API request; resolves with the parsed JSON body of a 2xx answer. */
function adminRequest<T>(
  baseUrl: string,
  token: string | undefined,
  method: 'GET' | 'POST',
  path: string,
): Promise<T> {
  if (!token) {
    throw new InspectError(
      'unauthorized',
      'set CCS_ADMIN_TOKEN to the admin token of the deployment (the server runs the admin API only with one)',
    );
  }
  const url = `${baseUrl.replace(/\/+$/, '')}${path}`;
  const request = url.startsWith('https:') ? httpsRequest : httpRequest;
  return new Promise<T>((resolve, reject) => {
    const unreachable = (error: Error) =>
      reject(
        new InspectError(
          'unreachable',
          `no answer from the admin API at ${url}: ${error.message}`,
          {
            cause: error,
          },
        ),
      );
    const outgoing = request(
      url,
      {
        method,
        // One connection per request: nothing stays open once the command is done.
        agent: false,
        headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
        timeout: REQUEST_TIMEOUT_MS,
      },
      (incoming: IncomingMessage) => {
        const chunks: Buffer[] = [];
        incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
        incoming.on('error', unreachable);
        incoming.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown = text;
          try {
            body = JSON.parse(text) as unknown;
          } catch {
            // Not JSON (a proxy's page): reported as text below.
          }
          const status = incoming.statusCode ?? 0;
          if (status >= 200 && status < 300) {
            resolve(body as T);
            return;
          }
          const wire = body as { code?: unknown; message?: unknown };
          reject(
            typeof wire === 'object' && wire !== null && typeof wire.code === 'string'
              ? new InspectError(wire.code, String(wire.message ?? `HTTP ${status}`))
              : new InspectError(`http_${status}`, `${method} ${url}: ${text.slice(0, 200)}`),
          );
        });
      },
    );
    outgoing.on('timeout', () =>
      outgoing.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`)),
    );
    outgoing.on('error', unreachable);
    outgoing.end();
  });
}

/** Runs `work` on a one-connection pool to `DATABASE_URL`; its errors are `database` errors. */
async function withDatabase<T>(
  env: NodeJS.ProcessEnv,
  work: (db: Database) => Promise<T>,
): Promise<T> {
  const url = env.DATABASE_URL ?? DEFAULT_DATABASE_URL;
  const database = createDatabase({ url, maxConnections: 1, applicationName: 'ccs-inspect' });
  try {
    return await work(database.db);
  } catch (error) {
    if (error instanceof InspectError) throw error;
    throw new InspectError('database', `${redactUrl(url)}: ${explainDbError(error)}`, {
      cause: error,
    });
  } finally {
    await database.close();
  }
}

/** `--url` and `--json`, the options of every command that asks the admin API. */
interface AdminOptions {
  readonly url: string;
  readonly json: boolean;
}

/**
 * The `ccs-inspect` program, for the operators of a deployment. From the change log
 * (`DATABASE_URL`): `tail <stream>` follows a stream's changes as they commit, `range <stream>
 * --from A --to B` prints some by seq. From the admin API of a running node (`--url`, else
 * `CCS_ADMIN_URL`, else http://127.0.0.1:3000; the token is `CCS_ADMIN_TOKEN`): `subscribers
 * <stream>` (every node's sockets, what each device acknowledged, its lag), `device <id>`
 * (row, sockets, streams, presence), `resync --stream S | --device D` (`resync_required {
 * reason: 'operator_request' }`), `jobs failed` and `jobs retry <queue> <id>`. Every command
 * prints a table, or JSON with `--json` (`tail --json`: one change per line). Failures reject
 * with an {@link InspectError} (or commander's error for a bad command line; nothing is
 * printed for those here: the caller reports them).
 *
 * @example
 * await createInspectCli((line) => console.log(line)).parseAsync(['node', 'ccs-inspect', 'subscribers', stream, '--json']);
 */
export function createInspectCli(
  out: (text: string) => void = (text) => process.stdout.write(`${text}\n`),
  env: NodeJS.ProcessEnv = process.env,
  options: InspectCliOptions = {},
): Command {
  /** Prints `rows` under `headers` (see {@link formatTable}). */
  const printTable = (headers: readonly string[], rows: readonly (readonly string[])[]): void => {
    for (const line of formatTable(headers, rows)) out(line);
  };
  const program = new Command('ccs-inspect')
    .description(
      'Inspect a CCS deployment: follow a stream, read it by seq, list subscribers, look at a device, force a resync, retry failed jobs',
    )
    // Throw instead of exiting; the caller prints the error once, in ccs-inspect's format.
    .exitOverride()
    .configureOutput({ outputError: () => undefined });

  const adminCommand = (parent: Command, name: string): Command =>
    parent
      .command(name)
      .addOption(
        new Option('--url <url>', 'base URL of a node (any node of the cluster)').default(
          env.CCS_ADMIN_URL ?? DEFAULT_ADMIN_URL,
          env.CCS_ADMIN_URL ? '$CCS_ADMIN_URL' : undefined,
        ),
      )
      .option('--json', 'print the admin API answer as JSON', false);
  const admin = <T>(opts: AdminOptions, method: 'GET' | 'POST', path: string) =>
    adminRequest<T>(opts.url, env.CCS_ADMIN_TOKEN, method, path);
  const json = (value: unknown) => out(JSON.stringify(value));

  program
    .command('tail')
    .description('follow the changes of a stream as they commit (Ctrl-C stops)')
    .argument('<stream>', 'e.g. conversation:<uuid>')
    .addOption(
      new Option('--from <seq>', 'first seq to print (default: the next change)').argParser(
        seqParser(1),
      ),
    )
    .addOption(new Option('--count <n>', 'stop after n changes').argParser(seqParser(1)))
    .addOption(
      new Option('--interval <ms>', 'how often the log is read while idle')
        .argParser(seqParser(10))
        .default(200),
    )
    .option('--json', 'one change per line, as JSON', false)
    .action(
      async (
        name: string,
        opts: { from?: number; count?: number; interval: number; json: boolean },
      ) => {
        const stream = parseStream(name);
        const stop = new AbortController();
        const onSigint = (): void => stop.abort();
        process.once('SIGINT', onSigint);
        const signal = options.signal
          ? AbortSignal.any([stop.signal, options.signal])
          : stop.signal;
        try {
          await withDatabase(env, async (db) => {
            let after =
              opts.from !== undefined ? opts.from - 1 : (await readStreamPosition(db, stream)).head;
            if (!opts.json) {
              out(`following ${stream} after seq ${after} (Ctrl-C stops)`);
              out(changeHeader());
            }
            let printed = 0;
            while (!signal.aborted && (opts.count === undefined || printed < opts.count)) {
              const wanted = Math.min(READ_BATCH, (opts.count ?? Infinity) - printed);
              const changes = await readChanges(db, stream, after, wanted);
              for (const change of changes) {
                out(opts.json ? JSON.stringify(change) : formatChangeRow(change));
                after = change.seq;
              }
              printed += changes.length;
              if (changes.length === 0) {
                await sleep(opts.interval, undefined, { signal }).catch(() => undefined);
              }
            }
          });
        } finally {
          process.off('SIGINT', onSigint);
        }
      },
    );

  program
    .command('range')
    .description('print the changes of a stream from seq A to seq B, from the log')
    .argument('<stream>', 'e.g. conversation:<uuid>')
    .addOption(
      new Option('--from <seq>', 'first seq').argParser(seqParser(1)).makeOptionMandatory(),
    )
    .addOption(new Option('--to <seq>', 'last seq').argParser(seqParser(1)).makeOptionMandatory())
    .option('--json', 'print { stream, from, to, head, trimmedTo, changes } as JSON', false)
    .action(async (name: string, opts: { from: number; to: number; json: boolean }) => {
      const stream = parseStream(name);
      if (opts.to < opts.from) {
        throw new InspectError(
          'invalid_arguments',
          `--to (${opts.to}) is before --from (${opts.from})`,
        );
      }
      const { position, changes } = await withDatabase(env, async (db) => {
        const position = await readStreamPosition(db, stream);
        const changes: ChangeEvent[] = [];
        let after = opts.from - 1;
        while (after < opts.to) {
          const batch = await readChanges(db, stream, after, Math.min(READ_BATCH, opts.to - after));
          changes.push(...batch.filter((change) => change.seq <= opts.to));
          if (batch.length === 0) break;
          after = batch.at(-1)!.seq;
        }
        return { position, changes };
      });
      if (opts.json) {
        json({ stream, from: opts.from, to: opts.to, ...position, changes });
        return;
      }
      if (opts.from <= position.trimmedTo) {
        out(`note: retention removed ${stream}'s changes up to seq ${position.trimmedTo}`);
      }
      if (changes.length === 0) {
        out(`no changes of ${stream} from seq ${opts.from} to ${opts.to} (head ${position.head})`);
        return;
      }
      out(changeHeader());
      for (const change of changes) out(formatChangeRow(change));
    });

  adminCommand(program, 'subscribers')
    .description(
      "every node's sockets subscribed to a stream, with the seq each device acknowledged",
    )
    .argument('<stream>', 'e.g. conversation:<uuid>')
    .action(async (name: string, opts: AdminOptions) => {
      const stream = parseStream(name);
      const answer = await admin<StreamSubscribersView>(
        opts,
        'GET',
        `/v1/admin/streams/${encodeURIComponent(stream)}/subscribers`,
      );
      if (opts.json) return json(answer);
      const count = answer.subscribers.length;
      out(`${answer.stream}  head ${answer.head}  ${count} subscriber${count === 1 ? '' : 's'}`);
      if (count === 0) return;
      printTable(
        ['NODE', 'SOCKET', 'USER', 'DEVICE', 'RECEIVED', 'LAG', 'REPORTED'],
        answer.subscribers.map((s) => [
          cell(s.node),
          s.socketId,
          s.userId,
          s.deviceId,
          cell(s.received),
          cell(s.lag),
          ago(s.reportedAt),
        ]),
      );
    });

  adminCommand(program, 'device')
    .description("a device's row, its sockets on every node, their streams, and its presence")
    .argument('<deviceId>', 'the device uuid')
    .action(async (deviceId: string, opts: AdminOptions) => {
      const answer = await admin<DeviceView>(
        opts,
        'GET',
        `/v1/admin/devices/${encodeURIComponent(deviceId)}`,
      );
      if (opts.json) return json(answer);
      const { device } = answer;
      out(
        `device ${device.id}  user ${device.userId}  name ${JSON.stringify(device.name)}  ${
          device.revokedAt ? `revoked ${device.revokedAt}` : 'active'
        }`,
      );
      if (answer.sockets.length === 0) {
        out('no sockets');
      } else {
        out(`sockets (${answer.sockets.length}):`);
        const rows = answer.sockets.flatMap((socket) => {
          const base = [cell(socket.node), socket.socketId, cell(socket.connectedAt)];
          return socket.streams.length === 0
            ? [[...base, '-', '-', '-', '-', '-']]
            : socket.streams.map((s) => [
                ...base,
                s.stream,
                String(s.head),
                cell(s.received),
                cell(s.lag),
                ago(socket.reportedAt),
              ]);
        });
        printTable(
          ['NODE', 'SOCKET', 'CONNECTED', 'STREAM', 'HEAD', 'RECEIVED', 'LAG', 'REPORTED'],
          rows,
        );
      }
      if (answer.presence.length > 0) {
        out('presence:');
        printTable(
          ['STREAM', 'ONLINE', 'SINCE'],
          answer.presence.map((p) => [p.stream, p.online ? 'yes' : 'no', cell(p.since)]),
        );
      }
    });

  adminCommand(program, 'resync')
    .description(
      "tell a stream's subscribers, or every stream of a device's sockets, to refetch (resync_required, reason operator_request)",
    )
    .option('--stream <stream>', 'every subscriber of this stream, on every node')
    .option('--device <deviceId>', "every stream of this device's sockets, on every node")
    .action(async (opts: AdminOptions & { stream?: string; device?: string }) => {
      if ((opts.stream === undefined) === (opts.device === undefined)) {
        throw new InspectError(
          'invalid_arguments',
          'give either --stream <stream> or --device <deviceId>',
        );
      }
      if (opts.stream !== undefined) {
        const stream = parseStream(opts.stream);
        const answer = await admin<StreamResyncView>(
          opts,
          'POST',
          `/v1/admin/streams/${encodeURIComponent(stream)}/resync`,
        );
        if (opts.json) return json(answer);
        out(
          `resync_required (operator_request, head ${answer.head}) sent to ${answer.sockets} socket${
            answer.sockets === 1 ? '' : 's'
          } of ${answer.stream}`,
        );
        return;
      }
      const answer = await admin<DeviceResyncView>(
        opts,
        'POST',
        `/v1/admin/devices/${encodeURIComponent(opts.device!)}/resync`,
      );
      if (opts.json) return json(answer);
      out(
        `resync_required (operator_request) sent to ${answer.sockets} socket${
          answer.sockets === 1 ? '' : 's'
        } of device ${answer.deviceId}`,
      );
      if (answer.streams.length > 0) {
        printTable(
          ['STREAM', 'HEAD'],
          answer.streams.map((s) => [s.stream, String(s.head)]),
        );
      }
    });

  const jobs = program.command('jobs').description('failed background jobs, through the admin API');
  adminCommand(jobs, 'failed')
    .description('list failed jobs, newest first')
    .option('--queue <name>', 'only this queue (e.g. ccs-webhooks)')
    .addOption(
      new Option('--limit <n>', 'at most this many jobs (1-500)')
        .argParser(seqParser(1))
        .default(50),
    )
    .action(async (opts: AdminOptions & { queue?: string; limit: number }) => {
      const query = new URLSearchParams({ limit: String(opts.limit) });
      if (opts.queue !== undefined) query.set('queue', opts.queue);
      const answer = await admin<{ jobs: FailedJob[] }>(
        opts,
        'GET',
        `/v1/admin/jobs/failed?${query.toString()}`,
      );
      if (opts.json) return json(answer);
      if (answer.jobs.length === 0) return out('no failed jobs');
      printTable(
        ['FAILED', 'QUEUE', 'ID', 'NAME', 'ATTEMPTS', 'REASON'],
        answer.jobs.map((job) => [
          cell(job.failedAt),
          job.queue,
          job.id,
          job.name,
          String(job.attemptsMade),
          job.failedReason.replace(/\s+/g, ' '),
        ]),
      );
    });
  adminCommand(jobs, 'retry')
    .description('run a failed job again, with its attempts reset')
    .argument('<queue>', 'the queue of the job (as `jobs failed` lists it)')
    .argument('<id>', 'the job id')
    .action(async (queue: string, id: string, opts: AdminOptions) => {
      const answer = await admin<{ ok: true }>(
        opts,
        'POST',
        `/v1/admin/jobs/${encodeURIComponent(queue)}/${encodeURIComponent(id)}/retry`,
      );
      if (opts.json) return json(answer);
      out(`retried ${queue} ${id}`);
    });

  return program;
}
