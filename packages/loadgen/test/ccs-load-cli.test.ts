import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, inject, test } from 'vitest';
import type { LoadReport } from '../src/index.js';

const testEnv = inject('ccsTestEnv');
const cli = path.resolve(import.meta.dirname, '../src/cli.ts');
const directory = await mkdtemp(path.join(tmpdir(), 'ccs-load-cli-'));
afterAll(() => rm(directory, { recursive: true, force: true }));

/** Runs `ccs-load` as a user would (from source), against the test services. */
function ccsLoad(
  args: readonly string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', '--conditions=@ccs/source', cli, ...args],
      {
        env: { ...process.env, DATABASE_URL: testEnv.adminUrl, REDIS_URL: testEnv.redisUrl },
        timeout: 100_000,
      },
      (error, stdout, stderr) =>
        resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('ccs-load', () => {
  test('an unknown scenario or a bad number is refused with a clear message', async () => {
    const unknown = await ccsLoad(['chat']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('unknown scenario chat; one of chat-fanout,');
    const badRate = await ccsLoad(['chat-fanout', '--send-rate', 'fast']);
    expect(badRate.code).toBe(1);
    expect(badRate.stderr).toContain('expected a number of 0 or more');
    const badTarget = await ccsLoad(['chat-fanout', '--targets', 'ccs,nats']);
    expect(badTarget.stderr).toContain('unknown target nats');
  });

  test('a missed threshold sets the exit code; the JSON and HTML reports are written', async () => {
    const json = path.join(directory, 'report.json');
    const html = path.join(directory, 'report.html');
    const run = await ccsLoad([
      'chat-fanout',
      '--targets',
      'ccs',
      '--conversations',
      '3',
      '--users-per-conversation',
      '2',
      '--devices-per-user',
      '1',
      '--send-rate',
      '20',
      '--ramp',
      '0',
      '--hold',
      '1',
      '--spike',
      '0',
      '--max-p99',
      '0.001',
      '--out',
      json,
      '--html',
      html,
    ]);
    expect(run.code, run.stderr).toBe(1);
    expect(run.stdout).toMatch(/FAILED \(1 check\)\s*$/);
    const report = JSON.parse(await readFile(json, 'utf8')) as LoadReport;
    expect(report.passed).toBe(false);
    expect(report.command).toContain('ccs-load chat-fanout --targets ccs');
    expect(report.checks.filter((check) => !check.passed)).toEqual([
      expect.objectContaining({ metric: 'sendToReceive.p99Ms', limit: 0.001, target: 'ccs' }),
    ]);
    expect(report.scenarios[0]?.runs[0]?.delivery).toMatchObject({ expected: 40, lost: 0 });
    expect(await readFile(html, 'utf8')).toMatch(/^<!doctype html>/i);
  });
});
