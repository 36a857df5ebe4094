import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { CallMap, CallRequest, ChildMessage } from './bench-ipc.js';

/** Options of {@link ChildLink.fork}. */
export interface ChildLinkOptions {
  /** Extra Node flags, e.g. `--cpu-prof`. @default [] */
  readonly nodeFlags?: readonly string[];
  /** Time for the child to load and say it is ready. @default 30000 */
  readonly readyTimeoutMs?: number;
}

interface Pending {
  resolve(result: unknown): void;
  reject(error: Error): void;
}

/**
 * A forked bench process (a TypeScript file run through tsx with the `@ccs/source` condition)
 * and typed request/response calls to it over the IPC channel.
 */
export class ChildLink<Calls extends CallMap<Calls>> {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private exitError: Error | undefined;

  private constructor(private readonly child: ChildProcess) {
    child.on('message', (message: ChildMessage) => {
      if (message.kind === 'ready') return;
      const pending = this.pending.get(message.id);
      if (!pending) return;
      this.pending.delete(message.id);
      if (message.kind === 'reply') pending.resolve(message.result);
      else pending.reject(new Error(message.message));
    });
    child.on('exit', (code, signal) => {
      this.exitError = new Error(`bench child exited (code ${code}, signal ${signal})`);
      for (const pending of this.pending.values()) pending.reject(this.exitError);
      this.pending.clear();
    });
  }

  /** Forks `moduleUrl` (an `import.meta.resolve`d or `new URL` file) and waits until it serves. */
  static async fork<Calls extends CallMap<Calls>>(
    moduleUrl: URL,
    options: ChildLinkOptions = {},
  ): Promise<ChildLink<Calls>> {
    const child = fork(fileURLToPath(moduleUrl), [], {
      execArgv: ['--import', 'tsx', '--conditions=@ccs/source', ...(options.nodeFlags ?? [])],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const link = new ChildLink<Calls>(child);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${moduleUrl.pathname} did not start in time`)),
        options.readyTimeoutMs ?? 30_000,
      );
      child.on('message', (message: ChildMessage) => {
        if (message.kind !== 'ready') return;
        clearTimeout(timer);
        resolve();
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`${moduleUrl.pathname} exited during start-up (code ${code})`));
      });
    });
    return link;
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  call<Method extends keyof Calls & string>(
    method: Method,
    params: Calls[Method]['params'],
  ): Promise<Calls[Method]['result']> {
    if (this.exitError) return Promise.reject(this.exitError);
    const id = this.nextId++;
    const request: CallRequest = { kind: 'call', id, method, params };
    return new Promise((resolve, reject) => {
      this.pending.set(id, {
        resolve: (result) => resolve(result as Calls[Method]['result']),
        reject,
      });
      this.child.send(request);
    });
  }

  /** Waits for the child to exit, killing it after `graceMs`. */
  async exit(graceMs = 5000): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.disconnect();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }
}
