import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, relative } from 'node:path';
import type { Reporter, Vitest } from 'vitest/node';

/** What vitest's `detectAsyncLeaks` records for a resource still alive after its test file. */
interface AsyncLeak {
  readonly type: string;
  readonly filename: string;
  readonly stack: string;
}

/**
 * Kinds of resource that count as an open handle: sockets, servers, pipes, child processes.
 * Timers and promises do not: socket.io, pg and ioredis schedule short ones while closing, so
 * they would fail runs that closed everything (vitest still prints them).
 */
const HANDLE_TYPES = new Set([
  'TCPWRAP',
  'TCPSERVERWRAP',
  'TCPCONNECTWRAP',
  'TLSWRAP',
  'PIPEWRAP',
  'PIPESERVERWRAP',
  'PIPECONNECTWRAP',
  'UDPWRAP',
  'PROCESSWRAP',
]);

/**
 * Fails the run when a test file leaves a handle open (a socket, a server, a pipe, a child
 * process), naming the file, the kind of handle and where it was made. Needs
 * `test.detectAsyncLeaks: true`, which finds the resources; vitest itself only prints them.
 *
 * @example
 * reporters: ['default', new OpenHandlesReporter('reports/vitest/my-project.open-handles.json')]
 */
export class OpenHandlesReporter implements Reporter {
  private vitest: Vitest | undefined;

  /** @param reportFile where to write a vitest-JSON-like summary when handles were left open */
  constructor(private readonly reportFile?: string) {}

  onInit(vitest: Vitest): void {
    this.vitest = vitest;
  }

  onTestRunEnd(): void {
    // vitest keeps the leaks on its state; they are not part of the public reporter API yet.
    const state = this.vitest?.state as unknown as { leakSet?: Set<AsyncLeak> } | undefined;
    const leaks = [...(state?.leakSet ?? [])].filter((leak) => HANDLE_TYPES.has(leak.type));
    if (leaks.length === 0) return;
    const root = this.vitest?.config.root ?? process.cwd();
    const files = new Map<string, string[]>();
    for (const leak of leaks) {
      const frames = leak.stack
        .split('\n')
        .map((line) => line.trim())
        .filter((line) => line.startsWith('at '));
      // The frame in the test file itself, else the first one in the project's own code.
      const where =
        frames.find((line) => line.includes(leak.filename)) ??
        frames.find((line) => !line.includes('node_modules') && !line.includes('node:'));
      const entry = `${leak.type}${where ? ` (${where})` : ''}`;
      const file = relative(root, leak.filename);
      files.set(file, [...(files.get(file) ?? []), entry]);
    }
    const lines = [...files].map(
      ([file, handles]) => `  ${file} left open: ${[...new Set(handles)].join(', ')}`,
    );
    console.error(
      `\nTest files left handles open; close every socket, server, pool and process they make:\n${lines.join('\n')}\n`,
    );
    process.exitCode = 1;
    if (this.reportFile) {
      mkdirSync(dirname(this.reportFile), { recursive: true });
      writeFileSync(
        this.reportFile,
        JSON.stringify({
          numPassedTests: 0,
          numFailedTests: files.size,
          openHandles: Object.fromEntries(files),
        }),
      );
    }
  }
}
