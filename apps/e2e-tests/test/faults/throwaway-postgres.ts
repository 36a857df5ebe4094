import { execFile } from 'node:child_process';
import { chown, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { migrateDatabase } from '@ccs/db';
import { freePort } from '@ccs/test-env';
import pg from 'pg';

const run = promisify(execFile);

/** A PostgreSQL cluster of one test's own (`initdb` in a temp dir, a free port), to crash. */
export interface ThrowawayPostgres {
  /** The migrated `ccs` database of the cluster. */
  readonly url: string;
  /** `pg_ctl stop -m immediate`: every backend dies at once, as in a crash (recovery at start). */
  crash(): Promise<void>;
  /** Starts the cluster again; resolves once it accepts connections. */
  start(): Promise<void>;
  /** Stops it and removes its directory. */
  close(): Promise<void>;
  /** The command lines (program and arguments) `crash()` and `start()` run, for a shell. */
  readonly argv: { readonly crash: readonly string[]; readonly start: readonly string[] };
}

/** Where the server binaries are: `CCS_PG_BIN`, else the newest `/usr/lib/postgresql/<v>/bin`. */
async function binDir(): Promise<string | undefined> {
  if (process.env['CCS_PG_BIN']) return process.env['CCS_PG_BIN'];
  const versions = await readdir('/usr/lib/postgresql').catch(() => []);
  const newest = versions.sort((a, b) => Number(b) - Number(a))[0];
  return newest ? `/usr/lib/postgresql/${newest}/bin` : undefined;
}

/**
 * Makes and starts a throwaway cluster (never the machine's shared one): `initdb` (as the
 * `postgres` user when run as root, which `initdb` refuses to be), trust auth on 127.0.0.1 and a
 * socket in its own directory, commit timestamps on, fsync off. Throws, saying why, when the
 * binaries are not there.
 */
export async function startThrowawayPostgres(): Promise<ThrowawayPostgres> {
  const bin = await binDir();
  if (!bin) throw new Error('no PostgreSQL server binaries (set CCS_PG_BIN to their directory)');
  const dir = await mkdtemp(join(tmpdir(), 'ccs-pg-'));
  const data = join(dir, 'data');
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: group } = await run('id', ['-g', 'postgres']);
    await chown(dir, Number(stdout.trim()), Number(group.trim()));
  }
  const pgArgv = (tool: string, args: string[]): string[] =>
    asRoot
      ? ['runuser', '-u', 'postgres', '--', join(bin, tool), ...args]
      : [join(bin, tool), ...args];
  const pgCommand = async (argv: readonly string[]): Promise<void> => {
    await run(argv[0]!, argv.slice(1));
  };
  const port = await freePort();
  await pgCommand(pgArgv('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync']));
  const argv = {
    start: pgArgv('pg_ctl', [
      '-D',
      data,
      '-l',
      join(dir, 'log'),
      '-w',
      '-o',
      `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c track_commit_timestamp=on -c fsync=off`,
      'start',
    ]),
    crash: pgArgv('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']),
  };
  const start = (): Promise<void> => pgCommand(argv.start);
  const crash = (): Promise<void> => pgCommand(argv.crash);
  const close = async (): Promise<void> => {
    await crash().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await start();
    const base = `postgres://postgres@127.0.0.1:${port}`;
    const admin = new pg.Client({ connectionString: `${base}/postgres` });
    await admin.connect();
    try {
      await admin.query('CREATE DATABASE ccs');
    } finally {
      await admin.end();
    }
    const url = `${base}/ccs`;
    await migrateDatabase(url);
    return { url, crash, start, argv, close };
  } catch (error) {
    await close();
    throw error;
  }
}
