import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FaultReport } from './fault-report.js';
import { startLoopbackStack, type LoopbackStack } from './loopback-stack.js';
import { FAULT_ACTIONS } from './fault-target.js';
import { FAULT_TARGET_VARIABLE, readOperatorTarget } from './operator-stack.js';

// The operator's path, for real: the fault suite is run as an operator runs it
// (`CCS_FAULT_TARGET=<file> vitest run test/faults`, in a vitest of its own) against a stack it
// knows only through that file, whose faults are shell commands. The stack is started here on
// loopback (loopback-stack.ts). Skipped when this run itself targets an operator's stack.

const projectRoot = resolve(import.meta.dirname, '../..');
const vitestCli = join(
  dirname(createRequire(import.meta.url).resolve('vitest/package.json')),
  'vitest.mjs',
);
const FAULTS = [
  'redis-restart',
  'postgres-restart',
  'postgres-backends-terminated',
  'gateway-kill',
] as const;
const RUN_TIMEOUT_MS = 100_000;

/**
 * Runs vitest on `files`, with `env` added and this run's own vitest variables left out; resolves
 * with its exit code and output.
 */
async function runVitest(
  files: readonly string[],
  env: Readonly<Record<string, string>>,
): Promise<{ code: number | null; output: string }> {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith('VITEST')),
  );
  const child = spawn(
    process.execPath,
    [vitestCli, 'run', ...files, '--reporter=default', '--color=false'],
    { cwd: projectRoot, env: { ...inherited, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  for (const stream of [child.stdout, child.stderr]) {
    stream.on('data', (chunk: Buffer) => (output += chunk.toString()));
  }
  const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  return { code, output };
}

describe.skipIf(process.env[FAULT_TARGET_VARIABLE])('fault suite against an operator stack', () => {
  let dir: string;
  let stack: LoopbackStack | undefined;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ccs-operator-target-'));
  });
  afterAll(async () => {
    await stack?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('reads the example file of docker/compose.yml, with a command for every fault', () => {
    const example = readOperatorTarget(resolve(projectRoot, 'fault-target.example.json'));
    expect(Object.keys(example.commands).sort()).toEqual([...FAULT_ACTIONS].sort());
  });

  it('refuses a bad target file, naming the file and each bad field', async () => {
    const path = join(dir, 'bad.json');
    await writeFile(
      path,
      JSON.stringify({
        gateways: ['http://127.0.0.1:3000', 'ftp://nowhere'],
        databaseUrl: 'postgres://postgres@127.0.0.1:5432/ccs',
        commands: { stopRedis: 'true', stopredis: 'true' },
      }),
    );
    expect(() => readOperatorTarget(path)).toThrow(
      new RegExp(
        `${path}[\\s\\S]*gateways\\.1: [\\s\\S]*jwtSecret: [\\s\\S]*commands: .*stopredis`,
      ),
    );
  });

  it(
    'runs every fault through the shell commands of the target file: 0 lost, 0 doubled',
    async () => {
      stack = await startLoopbackStack();
      const reports = join(dir, 'reports');
      const run = await runVitest(['test/faults'], {
        [FAULT_TARGET_VARIABLE]: stack.configPath,
        CCS_FAULT_REPORTS_DIR: reports,
      });
      expect(run.code, run.output).toBe(0);
      expect(run.output).toMatch(/4 passed/);
      expect(run.output).not.toMatch(/leak/i);
      const target = readOperatorTarget(stack.configPath).path;
      for (const fault of FAULTS) {
        const report = JSON.parse(
          await readFile(join(reports, `${fault}.json`), 'utf8'),
        ) as FaultReport;
        expect(report).toMatchObject({ fault, target: `operator stack ${target}`, lost: 0 });
        console.info(`[operator target] ${fault}: ${JSON.stringify(report.recoveryMs)}`);
      }
    },
    RUN_TIMEOUT_MS + 30_000,
  );
});
