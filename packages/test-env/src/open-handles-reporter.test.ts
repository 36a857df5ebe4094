import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const vitestCli = resolve(
  createRequire(import.meta.url).resolve('vitest/package.json'),
  '../vitest.mjs',
);

describe('OpenHandlesReporter', () => {
  it('fails a run whose test file leaves a server open, naming it', () => {
    const project = resolve(import.meta.dirname, '../test/leaky-project');
    const run = spawnSync(process.execPath, [vitestCli, 'run', '--root', project], {
      encoding: 'utf8',
      env: { ...process.env, CI: 'true', NO_COLOR: '1' },
      timeout: 60_000,
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(
      /leaks\.fixture\.ts left open: TCPSERVERWRAP \(at .*leaks\.fixture\.ts/,
    );
    // A timer is not a handle here (see HANDLE_TYPES): only the server is named.
    expect(run.stderr).not.toMatch(/left open: .*Timeout/);
  });
});
