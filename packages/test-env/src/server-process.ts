import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

/** Options of {@link startServerProcess}. */
export interface ServerProcessOptions {
  /** The Node entry point, e.g. `apps/sync-server/dist/main.js`. */
  readonly entry: string;
  /** Arguments after the entry point, e.g. `['--migrate']`. @default none */
  readonly args?: readonly string[];
  /** Extra environment; `PORT` defaults to `0` (a free port). */
  readonly env?: Readonly<Record<string, string>>;
  /** How long to wait for the `listening` log line. @default 15_000 */
  readonly startTimeoutMs?: number;
}

/** A server running as a real child process. */
export interface ServerProcess {
  readonly url: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** Everything the process printed so far (stdout and stderr), for failure messages. */
  readonly output: readonly string[];
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process has exited. */
  stop(graceMs?: number): Promise<void>;
  /** Sends a signal (e.g. `SIGKILL` to simulate a crash) and resolves once the process exited. */
  kill(signal: NodeJS.Signals): Promise<void>;
}

/**
 * Starts a sync-server process and resolves once it logs its `listening` line (pino JSON with a
 * `url`), so tests talk to it over real sockets, on the port it chose.
 */
export function startServerProcess(options: ServerProcessOptions): Promise<ServerProcess> {
  const output: string[] = [];
  const child = spawn(process.execPath, [options.entry, ...(options.args ?? [])], {
    env: { ...process.env, PORT: '0', LOG_LEVEL: 'info', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const kill = async (signal: NodeJS.Signals): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited;
  };
  createInterface({ input: child.stderr! }).on('line', (line) => output.push(line));

  return new Promise((resolve, reject) => {
    const timeoutMs = options.startTimeoutMs ?? 15_000;
    const timer = setTimeout(() => {
      void kill('SIGKILL');
      reject(
        new Error(
          `server did not log "listening" within ${timeoutMs} ms; output:\n${output.join('\n')}`,
        ),
      );
    }, timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(
        new Error(
          `server exited (${signal ?? code}) before listening; output:\n${output.join('\n')}`,
        ),
      );
    });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      output.push(line);
      const url = listeningUrl(line);
      if (!url) return;
      clearTimeout(timer);
      resolve({
        url,
        pid: child.pid!,
        child,
        output,
        kill,
        async stop(graceMs = 5000) {
          const force = setTimeout(() => child.kill('SIGKILL'), graceMs);
          await kill('SIGTERM');
          clearTimeout(force);
        },
      });
    });
  });
}

function listeningUrl(line: string): string | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const entry = JSON.parse(line) as { msg?: unknown; url?: unknown };
    return entry.msg === 'listening' && typeof entry.url === 'string' ? entry.url : undefined;
  } catch {
    return undefined;
  }
}
