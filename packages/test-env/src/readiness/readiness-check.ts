/** A server process as a {@link ReadinessCheck} sees it while it starts. */
export interface StartingProcess {
  /** Its environment, `PORT` included (a free one is chosen when a check needs to know it). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Calls `listener` with each line it prints (stdout and stderr), from now on. */
  onLine(listener: (line: string) => void): void;
  /** Aborted when the process exits or the start times out: stop waiting then. */
  readonly signal: AbortSignal;
}

/**
 * How `startServerProcess` knows a server is ready: resolves with its base URL once it is, and
 * keeps waiting (until `signal` aborts) until then. One strategy per file in this folder: a log
 * line, an HTTP probe, an open port.
 */
export interface ReadinessCheck {
  /** For error messages: what was waited for. */
  readonly description: string;
  /** Whether it needs a known port (`PORT` is then chosen before the process starts). */
  readonly needsPort: boolean;
  ready(process: StartingProcess): Promise<string>;
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function pauseUnlessAborted(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** The port a started process listens on, from its `PORT`. */
export function portOf(process: StartingProcess): number {
  const port = Number(process.env['PORT']);
  if (!Number.isInteger(port) || port <= 0) {
    throw new Error(
      `a readiness check that probes needs a fixed PORT, got "${process.env['PORT']}"`,
    );
  }
  return port;
}
