import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { CallMap, CallRequest, ChildMessage } from './call-map.js';

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
 * Node flags a child needs to load `moduleUrl`: a TypeScript file (running from source) goes
 * through tsx with the `@ccs/source` condition, so `@ccs/*` imports resolve to source as in the
 * parent; a built `.js` file runs on plain node.
 */
function loaderFlags(moduleUrl: URL): string[] {
  if (moduleUrl.pathname.endsWith('.ts')) return ['--import', 'tsx', '--conditions=@ccs/source'];
  if (moduleUrl.pathname.endsWith('.js')) return [];
  throw new Error(`ChildLink.fork: ${moduleUrl.pathname} is neither a .ts nor a .js module`);
}

/**
 * A forked process that serves calls (see `serveParentCalls`), and typed request/response calls
 * to it over the IPC channel. Name the child with `siblingModule`, so the same code forks the
 * `.ts` file from source and the `.js` file from a build.
 */
export class ChildLink<Calls extends CallMap<Calls>> {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private exitError: Error | undefined;

  private constructor(
    private readonly child: ChildProcess,
    name: string,
  ) {
    child.on('message', (message: ChildMessage) => {
      if (message.kind === 'ready') return;
      const pending = this.pending.get(message.id);
      if (!pending) return;
      this.pending.delete(message.id);
      if (message.kind === 'reply') pending.resolve(message.result);
      else pending.reject(new Error(message.message));
    });
    child.on('exit', (code, signal) => {
      this.exitError = new Error(`${name} exited (code ${code}, signal ${signal})`);
      for (const pending of this.pending.values()) pending.reject(this.exitError);
      this.pending.clear();
    });
  }

  /**
   * Forks `moduleUrl` (a `.ts` or `.js` file, e.g. from `siblingModule`) and waits until it
   * serves.
   */
  static async fork<Calls extends CallMap<Calls>>(
    moduleUrl: URL,
    options: ChildLinkOptions = {},
  ): Promise<ChildLink<Calls>> {
    const child = fork(fileURLToPath(moduleUrl), [], {
      execArgv: [...loaderFlags(moduleUrl), ...(options.nodeFlags ?? [])],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const link = new ChildLink<Calls>(child, moduleUrl.pathname);
    await new Promise<void>((resolve, reject) => {
      const readyTimeoutMs = options.readyTimeoutMs ?? 30_000;
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`${moduleUrl.pathname} did not start within ${readyTimeoutMs} ms`));
      }, readyTimeoutMs);
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
