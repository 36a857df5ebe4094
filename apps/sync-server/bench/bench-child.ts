import { fork, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import type { ChildMessage, ParentMessage } from './ipc.js';

/**
 * A bench child process (a TypeScript file run through tsx with the `@ccs/source` condition),
 * with its own event loop: the load it makes does not share the runner's, where latencies are
 * measured. Its config is JSON in argv[2]; it answers over the IPC channel.
 */
export class BenchChild {
  private readonly messages: ChildMessage[] = [];
  private readonly waiters: (() => void)[] = [];
  private exited: string | undefined;

  private constructor(private readonly child: ChildProcess) {
    child.on('message', (message: ChildMessage) => {
      this.messages.push(message);
      for (const wake of this.waiters.splice(0)) wake();
    });
    child.once('exit', (code, signal) => {
      this.exited = `exited (code ${code}, signal ${signal})`;
      for (const wake of this.waiters.splice(0)) wake();
    });
  }

  /** `nice`: scheduling priority of the child (19: only what nothing else wants). @default 0 */
  static start(moduleUrl: URL, config: object, nice = 0): BenchChild {
    const child = fork(fileURLToPath(moduleUrl), [JSON.stringify(config)], {
      execArgv: ['--import', 'tsx', '--conditions=@ccs/source'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    if (nice !== 0 && child.pid !== undefined) os.setPriority(child.pid, nice);
    return new BenchChild(child);
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  send(message: ParentMessage): void {
    if (this.exited === undefined) this.child.send(message);
  }

  /** The first message of `kind` (a `failed` message, or the child's exit, rejects). */
  async next<Kind extends ChildMessage['kind']>(
    kind: Kind,
    timeoutMs: number,
  ): Promise<Extract<ChildMessage, { kind: Kind }>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const failed = this.messages.find((message) => message.kind === 'failed');
      if (failed?.kind === 'failed') throw new Error(`bench child failed: ${failed.message}`);
      const index = this.messages.findIndex((message) => message.kind === kind);
      if (index !== -1) {
        return this.messages.splice(index, 1)[0] as Extract<ChildMessage, { kind: Kind }>;
      }
      if (this.exited !== undefined) throw new Error(`bench child ${this.exited} before ${kind}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`bench child sent no ${kind} within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Waits for the child to exit; kills it after `graceMs`. */
  async close(graceMs = 5000): Promise<void> {
    if (this.exited !== undefined) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    if (this.child.connected) this.child.disconnect();
    await exited;
    clearTimeout(timer);
  }
}

/** In a child: the config from argv[2], and how to talk to the parent. */
export function childChannel<Config>(): {
  readonly config: Config;
  post(message: ChildMessage): Promise<void>;
  onMessage(listener: (message: ParentMessage) => void): void;
} {
  const raw = process.argv[2];
  if (!raw || !process.send) throw new Error('run me through BenchChild.start');
  return {
    config: JSON.parse(raw) as Config,
    post: (message) =>
      new Promise((resolve, reject) =>
        process.send!(message, undefined, undefined, (error) =>
          error ? reject(error) : resolve(),
        ),
      ),
    onMessage: (listener) => process.on('message', (message: ParentMessage) => listener(message)),
  };
}
