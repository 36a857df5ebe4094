import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { logLineReadiness } from './readiness/log-line.js';
import type { ReadinessCheck } from './readiness/readiness-check.js';

/** Options of {@link startServerProcess}. */
export interface ServerProcessOptions {
  /** The Node entry point, e.g. `apps/sync-server/dist/main.js`. */
  readonly entry: string;
  /** Arguments after the entry point, e.g. `['--migrate']`. @default none */
  readonly args?: readonly string[];
  /**
   * Extra environment; `PORT` defaults to `0` (a free port), or to a free port chosen here when
   * the readiness check needs to know it.
   */
  readonly env?: Readonly<Record<string, string>>;
  /**
   * When the server counts as started. @default {@link logLineReadiness}: sync-server's
   * `listening` log line; see also `httpProbeReadiness` and `portOpenReadiness`.
   */
  readonly readiness?: ReadinessCheck;
  /** How long to wait for readiness. @default 15_000 */
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

/** A TCP port free right now on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * Starts a server process and resolves once its readiness check says so (by default the
 * `listening` log line of sync-server, whose url names the port it chose), so tests talk to it
 * over real sockets. Rejects, with everything it printed, when it exits or times out first.
 */
export async function startServerProcess(options: ServerProcessOptions): Promise<ServerProcess> {
  const readiness = options.readiness ?? logLineReadiness();
  const env: Record<string, string | undefined> = {
    ...process.env,
    PORT: '0',
    LOG_LEVEL: 'info',
    ...options.env,
  };
  if (readiness.needsPort && (env['PORT'] === '0' || !env['PORT'])) {
    env['PORT'] = String(await freePort());
  }
  const output: string[] = [];
  const lineListeners: ((line: string) => void)[] = [];
  const child = spawn(process.execPath, [options.entry, ...(options.args ?? [])], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const kill = async (signal: NodeJS.Signals): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited;
  };
  for (const stream of [child.stdout!, child.stderr!]) {
    createInterface({ input: stream }).on('line', (line) => {
      output.push(line);
      for (const listener of lineListeners) listener(line);
    });
  }

  const starting = new AbortController();
  const timeoutMs = options.startTimeoutMs ?? 15_000;
  let timer: NodeJS.Timeout | undefined;
  let timedOut = false;
  // Rejects once the process has exited (so nothing of it outlives the rejection): on its own,
  // or killed at the timeout.
  const failure = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      timedOut = true;
      void kill('SIGKILL');
    }, timeoutMs);
    child.once('exit', (code, signal) =>
      reject(
        new Error(
          timedOut
            ? `server not ready (${readiness.description}) within ${timeoutMs} ms; output:\n${output.join('\n')}`
            : `server exited (${signal ?? code}) before ready (${readiness.description}); output:\n${output.join('\n')}`,
        ),
      ),
    );
  });
  failure.catch(() => undefined);
  try {
    const url = await Promise.race([
      readiness.ready({
        env,
        onLine: (listener) => lineListeners.push(listener),
        signal: starting.signal,
      }),
      failure,
    ]);
    return {
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
    };
  } finally {
    clearTimeout(timer);
    starting.abort();
    lineListeners.length = 0;
  }
}
