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
 * Fails the run when a test file leaves a handle open (a socket, a server, a timer), naming the
 * file, the kind of handle and where it was made. Needs `test.detectAsyncLeaks: true`, which
 * finds the resources; vitest itself only prints them. Pending promises are not handles and are
 * left to vitest's own report: drivers keep some alive by design.
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
    const leaks = [...(state?.leakSet ?? [])].filter((leak) => leak.type !== 'PROMISE');
    if (leaks.length === 0) return;
    const root = this.vitest?.config.root ?? process.cwd();
    const files = new Map<string, string[]>();
    for (const leak of leaks) {
      const where = leak.stack
        .split('\n')
        .map((line) => line.trim())
        .find((line) => line.startsWith('at ') && !line.includes('node_modules'));
      const entry = `${leak.type}${where ? ` (${where})` : ''}`;
      const file = relative(root, leak.filename);
      files.set(file, [...(files.get(file) ?? []), entry]);
    }
    const lines = [...files].map(
      ([file, handles]) => `  ${file} left open: ${[...new Set(handles)].join(', ')}`,
    );
    console.error(
      `\nTest files left handles open; close every socket, server, pool and timer they make:\n${lines.join('\n')}\n`,
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
