import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import pg from 'pg';
import { renderConsoleReport } from '../report/console-report.js';
import { renderHtmlReport } from '../report/html-report.js';
import {
  TARGET_NAMES,
  type LoadReport,
  type MachineDescription,
  type ScenarioResult,
  type TargetName,
  type ThresholdCheck,
} from '../report/load-report.js';
import { SCENARIOS } from '../scenarios/index.js';
import type { ScenarioSettings } from '../scenarios/scenario.js';
import { BENCH_SUITE, suiteChecks } from './bench-suite.js';
import { LoadProgress } from './load-progress.js';
import { runScenario, type LoadEnvironment } from './run-scenario.js';
import { thresholdChecks, type Thresholds } from './threshold-checks.js';

function count(value: string): number {
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < 0) {
    throw new InvalidArgumentError('expected a number of 0 or more');
  }
  return parsed;
}

function fraction(value: string): number {
  const parsed = count(value);
  if (parsed > 1) throw new InvalidArgumentError('expected a share between 0 and 1');
  return parsed;
}

function targets(value: string): TargetName[] {
  const names = value.split(',').map((name) => name.trim());
  for (const name of names) {
    if (!(TARGET_NAMES as readonly string[]).includes(name)) {
      throw new InvalidArgumentError(`unknown target ${name}; one of ${TARGET_NAMES.join(', ')}`);
    }
  }
  return names as TargetName[];
}

/** CLI flag → setting it overrides. */
const SETTING_FLAGS: readonly (readonly [
  string,
  keyof ScenarioSettings,
  string,
  (v: string) => number,
])[] = [
  ['--conversations <n>', 'conversations', 'conversations seeded', count],
  ['--users-per-conversation <n>', 'usersPerConversation', 'members of each conversation', count],
  ['--devices-per-user <n>', 'devicesPerUser', 'devices (sockets) of each user', count],
  [
    '--senders-per-conversation <n>',
    'sendersPerConversation',
    'devices of each conversation that send',
    count,
  ],
  [
    '--connect-rate <n>',
    'connectRate',
    'connects per second (0: as fast as --connect-concurrency allows)',
    count,
  ],
  ['--connect-concurrency <n>', 'connectConcurrency', 'handshakes in flight at once', count],
  ['--subscribe-rate <n>', 'subscribeRate', 'subscribes per second (connection-storm)', count],
  ['--send-rate <n>', 'sendRate', 'messages per second over all senders, once ramped up', count],
  ['--ramp <seconds>', 'rampSec', 'ramp from 0 to --send-rate', count],
  ['--hold <seconds>', 'holdSec', 'hold at --send-rate', count],
  ['--spike-rate <n>', 'spikeRate', 'messages per second of the spike after the hold', count],
  ['--spike <seconds>', 'spikeSec', 'length of the spike (0: none)', count],
  ['--payload-bytes <n>', 'payloadBytes', 'message body size', count],
  ['--servers <n>', 'servers', 'server processes per target (CCS gateways)', count],
  [
    '--client-processes <n>',
    'clientProcesses',
    'client processes (more are used when sockets need them)',
    count,
  ],
  [
    '--source-addresses <n>',
    'sourceAddresses',
    'loopback source addresses 127.0.0.1… the sockets are spread over',
    count,
  ],
  [
    '--fraction <share>',
    'fraction',
    'share of clients dropped (reconnect-storm) or paused (slow-consumers)',
    fraction,
  ],
  ['--typing-rate <n>', 'typingRate', 'typing updates per second (presence-typing)', count],
];

interface ParsedOptions {
  readonly targets?: TargetName[];
  readonly maxP99?: number;
  readonly maxConnectP99?: number;
  readonly minConnectsPerSec?: number;
  readonly maxResumeP99?: number;
  readonly out?: string;
  readonly html?: string;
  readonly profileServers?: string;
  readonly databaseUrl: string;
  readonly redisUrl: string;
  readonly [setting: string]: unknown;
}

function openFileLimit(): number {
  try {
    return Number(execFileSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).trim());
  } catch {
    return 0;
  }
}

async function describeMachine(databaseUrl: string): Promise<MachineDescription> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ server_version: string }>('SHOW server_version');
    return {
      cpuModel: os.cpus()[0]?.model ?? 'unknown',
      cores: os.cpus().length,
      memoryBytes: os.totalmem(),
      node: process.version,
      postgres: rows[0]?.server_version ?? 'unknown',
      openFileLimit: openFileLimit(),
      platform: `${os.platform()} ${os.release()}`,
    };
  } finally {
    await client.end();
  }
}

async function writeReport(report: LoadReport, options: ParsedOptions): Promise<void> {
  for (const [file, text] of [
    [options.out, `${JSON.stringify(report, null, 2)}\n`],
    [options.html, renderHtmlReport(report)],
  ] as const) {
    if (!file) continue;
    await mkdir(path.dirname(path.resolve(file)), { recursive: true });
    await writeFile(file, text);
  }
}

/**
 * `ccs-load <scenario>`: runs a scenario (or `suite`, every scenario at the sizes of the bench)
 * against CCS and its peers, prints a table, writes JSON and HTML, and exits 1 when a check fails.
 */
export function createLoadCommand(): Command {
  const command = new Command('ccs-load')
    .description(
      'Load scenarios against CCS and its peers (bare socket.io, postgres-adapter, redis-streams-adapter + CSR) ' +
        'with the same clients and payloads, in the same run.',
    )
    .argument('<scenario>', `one of: ${[...SCENARIOS.keys()].join(', ')}, or suite (the bench)`)
    .option('--targets <list>', `comma-separated: ${TARGET_NAMES.join(', ')}`, targets)
    .option('--max-p99 <ms>', 'fail when a CCS send → receive p99 exceeds this', count)
    .option('--max-connect-p99 <ms>', 'fail when a CCS connect-time p99 exceeds this', count)
    .option(
      '--min-connects-per-sec <n>',
      'fail when CCS connects per second fall below this',
      count,
    )
    .option('--max-resume-p99 <ms>', 'fail when a CCS resume-time p99 exceeds this', count)
    .option('--out <file>', 'write the JSON report here')
    .option(
      '--profile-servers <dir>',
      'write a V8 CPU profile of every server process here (where the time goes)',
    )
    .option('--html <file>', 'write the self-contained HTML report here')
    .addOption(
      new Option(
        '--database-url <url>',
        'PostgreSQL maintenance database (a database per scenario is created from it and dropped)',
      )
        .env('DATABASE_URL')
        .default('postgres://postgres@127.0.0.1:5432/postgres'),
    )
    .addOption(
      new Option('--redis-url <url>', 'Redis (keys under a prefix of the run, deleted at the end)')
        .env('REDIS_URL')
        .default('redis://127.0.0.1:6379'),
    );
  for (const [flags, , description, parse] of SETTING_FLAGS)
    command.option(flags, description, parse);
  command.action(async (name: string, options: ParsedOptions) => {
    const suite = name === 'suite';
    const scenario = SCENARIOS.get(name);
    if (!suite && !scenario) {
      throw new InvalidArgumentError(
        `unknown scenario ${name}; one of ${[...SCENARIOS.keys()].join(', ')}, suite`,
      );
    }
    const overrides: Partial<Record<keyof ScenarioSettings, number>> = {};
    for (const [flags, key] of SETTING_FLAGS) {
      const camel = flags
        .slice(2, flags.indexOf(' '))
        .replace(/-(\w)/g, (_, c: string) => c.toUpperCase());
      const value = options[camel];
      if (typeof value === 'number') overrides[key] = value;
    }
    const environment: LoadEnvironment = {
      adminUrl: options.databaseUrl,
      redisUrl: options.redisUrl,
      progress: new LoadProgress(),
      ...(options.profileServers && { profileDir: path.resolve(options.profileServers) }),
    };
    const startedAt = new Date().toISOString();
    const machine = await describeMachine(options.databaseUrl);
    const results: ScenarioResult[] = [];
    const runs = suite
      ? BENCH_SUITE
      : [{ name: name, scenario: scenario!, overrides: {}, targets: undefined }];
    for (const run of runs) {
      results.push(
        await runScenario(run.scenario, {
          name: run.name,
          overrides: { ...run.overrides, ...overrides },
          ...((options.targets ?? run.targets) && { targets: options.targets ?? run.targets }),
          environment,
        }),
      );
    }
    const thresholds: Thresholds = {
      ...(options.maxP99 !== undefined && { maxP99Ms: options.maxP99 }),
      ...(options.maxConnectP99 !== undefined && { maxConnectP99Ms: options.maxConnectP99 }),
      ...(options.minConnectsPerSec !== undefined && {
        minConnectsPerSec: options.minConnectsPerSec,
      }),
      ...(options.maxResumeP99 !== undefined && { maxResumeP99Ms: options.maxResumeP99 }),
    };
    const checks: ThresholdCheck[] = [
      ...thresholdChecks(results, thresholds),
      ...(suite ? suiteChecks(results) : []),
    ];
    const report: LoadReport = {
      tool: 'ccs-load',
      startedAt,
      finishedAt: new Date().toISOString(),
      command: ['ccs-load', ...process.argv.slice(2)].join(' '),
      machine,
      scenarios: results,
      checks,
      passed: checks.every((one) => one.passed),
    };
    await writeReport(report, options);
    process.stdout.write(renderConsoleReport(report));
    if (!report.passed) process.exitCode = 1;
  });
  return command;
}
