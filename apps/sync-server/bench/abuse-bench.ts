// `nx run sync-server:bench`: what abuse costs everyone else. A sync-server runs as its own
// process on a database and Redis prefix of the bench's own; each scenario runs twice, without
// the abuser (baseline) and with it, and the JSON puts each measurement beside its baseline.
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError, Option } from 'commander';
import { loadConfig } from '@ccs/server';
import { openBenchEnv } from './bench-env.js';
import { MachineCpu } from './cpu.js';
import { runFloodScenario, type FloodOptions, type FloodRun } from './flood-scenario.js';
import {
  compareFlood,
  compareSlow,
  findings,
  ok,
  type Compared,
  type ScenarioPair,
} from './report.js';
import { runSlowScenario, type SlowOptions, type SlowRun } from './slow-scenario.js';

const projectRoot = fileURLToPath(new URL('../', import.meta.url));

function positiveInteger(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed <= 0) {
    throw new InvalidArgumentError('expected a positive integer');
  }
  return parsed;
}

interface RawOptions {
  quick: boolean;
  out: string;
  scenarios: 'both' | 'flood' | 'slow';
  floodSeconds?: number;
  cycles?: number;
  floodMaxSends: number;
  floodPipeline: number;
  floodBodyChars: number;
  flooderNice: number;
  slowSeconds?: number;
  writesPerSec: number;
  bodyChars: number;
  crowdSockets: number;
  normalSubscribers: number;
  settleSeconds: number;
  largeRatio: number;
}

const program = new Command('abuse-bench')
  .description(
    'What abuse costs other users of one sync-server: a send flood, and slow consumers; each against a baseline run without the abuser',
  )
  .option('--quick', 'short runs (smoke test, about a minute)', false)
  .option('--out <file>', 'JSON report', path.join(projectRoot, 'bench-results/abuse.json'))
  .addOption(
    new Option('--scenarios <which>', 'scenarios to run')
      .choices(['both', 'flood', 'slow'])
      .default('both'),
  )
  .option(
    '--flood-seconds <n>',
    'flood duration; the other user’s cycles run over it (default 15, quick 5)',
    positiveInteger,
  )
  .option(
    '--cycles <n>',
    'connect → subscribe → disconnect cycles of the other user (default 200, quick 50)',
    positiveInteger,
  )
  .option(
    '--flood-max-sends <n>',
    'the flood stops after this many sends',
    positiveInteger,
    600_000,
  )
  .option(
    '--flood-pipeline <n>',
    'sends the flooder keeps awaiting their ack',
    positiveInteger,
    500,
  )
  .option('--flood-body-chars <n>', 'body length of each flood send', positiveInteger, 1024)
  .option(
    '--flooder-nice <n>',
    'scheduling priority of the flooder process (0: it competes for the CPU like the server)',
    (value: string) => Number(value),
    19,
  )
  .option(
    '--slow-seconds <n>',
    'how long the writer writes in the slow-consumer scenario (default 20, quick 6)',
    positiveInteger,
  )
  .option('--writes-per-sec <n>', 'messages written per second (plain SQL)', positiveInteger, 200)
  .option('--body-chars <n>', 'body length of each written message', positiveInteger, 16_384)
  .option(
    '--crowd-sockets <n>',
    'slow sockets (paused; reading in the baseline)',
    positiveInteger,
    10,
  )
  .option('--normal-subscribers <n>', 'subscribers that read everything', positiveInteger, 2)
  .option(
    '--settle-seconds <n>',
    'after the last write, before the final RSS (longer than the 5 s slow-consumer grace)',
    positiveInteger,
    6,
  )
  .option(
    '--large-ratio <x>',
    'latency ratios at or above this are listed in findings',
    (value: string) => Number(value),
    3,
  );

const raw = program.parse(process.argv).opts<RawOptions>();
const quick = raw.quick;
const floodMs = (raw.floodSeconds ?? (quick ? 5 : 15)) * 1000;
const leadMs = 500;
const floodOptions: FloodOptions = {
  cycles: raw.cycles ?? (quick ? 50 : 200),
  windowMs: floodMs - leadMs,
  leadMs,
  maxSends: raw.floodMaxSends,
  floodMaxMs: floodMs + 1000,
  pipeline: raw.floodPipeline,
  bodyChars: raw.floodBodyChars,
  flooderNice: raw.flooderNice,
  readyzEveryMs: 100,
  rssEveryMs: 250,
  stepTimeoutMs: 10_000,
  bystanderWritesPerSec: 20,
  bystanderBodyChars: 200,
};
const slowOptions: SlowOptions = {
  crowdSockets: raw.crowdSockets,
  normalSubscribers: raw.normalSubscribers,
  writesPerSec: raw.writesPerSec,
  writeMs: (raw.slowSeconds ?? (quick ? 6 : 20)) * 1000,
  bodyChars: raw.bodyChars,
  settleMs: raw.settleSeconds * 1000,
  finishReadMs: 2000,
  readyzEveryMs: 100,
  rssEveryMs: 250,
  stepTimeoutMs: 10_000,
};

const log = (line: string): void => console.error(`[abuse-bench] ${line}`);
const adminUrl =
  process.env.CCS_TEST_DATABASE_URL ??
  process.env.DATABASE_URL ??
  'postgres://postgres@127.0.0.1:5432/postgres';
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
// Limits and tuning the operator set (CCS_*) reach the server; everything else is its default.
const serverTuning = Object.fromEntries(
  Object.entries(process.env).filter(
    (entry): entry is [string, string] =>
      entry[0].startsWith('CCS_') &&
      !entry[0].startsWith('CCS_TEST') &&
      !['CCS_JWT_SECRET', 'CCS_REDIS_PREFIX'].includes(entry[0]) &&
      entry[1] !== undefined,
  ),
);

const startedAt = new Date();
const busyBefore = await waitForQuietMachine();
const env = await openBenchEnv({ adminUrl, redisUrl, serverEnv: serverTuning, log });
let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    interrupted = true;
    log(`${signal}: cleaning up`);
    void env.close().finally(() => process.exit(130));
  });
}

async function attempt<Run>(run: () => Promise<Run>): Promise<Run | { readonly error: string }> {
  try {
    return await run();
  } catch (error) {
    log(`run failed: ${(error as Error).stack ?? String(error)}`);
    return { error: (error as Error).message };
  }
}

let flood: ScenarioPair<FloodRun> | undefined;
let slow: ScenarioPair<SlowRun> | undefined;
const postgres = await env.database.pool.query<{ version: string; tct: string }>(
  "SELECT version() AS version, current_setting('track_commit_timestamp') AS tct",
);
try {
  if (raw.scenarios !== 'slow') {
    const baseline = await attempt(() => runFloodScenario(env, floodOptions, false, log));
    await sleep(1000);
    const abuse = await attempt(() => runFloodScenario(env, floodOptions, true, log));
    flood = { baseline, abuse };
  }
  if (raw.scenarios !== 'flood' && !interrupted) {
    const baseline = await attempt(() => runSlowScenario(env, slowOptions, false, log));
    await sleep(1000);
    const abuse = await attempt(() => runSlowScenario(env, slowOptions, true, log));
    slow = { baseline, abuse };
  }
} finally {
  await env.close();
}

const serverConfig = loadConfig({ ...env.serverEnv, CCS_JWT_SECRET: 'x'.repeat(16) });
const floodBase = flood && ok(flood.baseline);
const floodAbuse = flood && ok(flood.abuse);
const slowBase = slow && ok(slow.baseline);
const slowAbuse = slow && ok(slow.abuse);
const report = {
  bench: 'sync-server abuse',
  startedAt: startedAt.toISOString(),
  durationSeconds: Math.round((Date.now() - startedAt.getTime()) / 1000),
  quick,
  machine: {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    postgres: postgres.rows[0]!.version.split(' ').slice(0, 2).join(' '),
    /** `on`: `committedAt` is the commit time; `off`: the trigger's write time (before the commit). */
    trackCommitTimestamp: postgres.rows[0]!.tct,
    busyCoresBeforeStart: busyBefore,
    loadAverageAtStart: Math.round(os.loadavg()[0]! * 100) / 100,
  },
  config: {
    server: {
      process: 'tsx --conditions=@ccs/source apps/sync-server/src/main.ts (own process)',
      env: Object.fromEntries(
        Object.entries(env.serverEnv).filter(([key]) => !/URL|SECRET/.test(key)),
      ),
      dbPoolSize: serverConfig.dbPoolSize,
      authDbPoolSize: serverConfig.authDbPoolSize,
      relayBusyMs: serverConfig.relayBusyMs,
      relayIdleMs: serverConfig.relayIdleMs,
      /** Limits set through CCS_*; every other GatewayLimits field is the gateway's default. */
      limitOverrides: serverConfig.limits,
    },
    flood: { ...floodOptions, floodSeconds: floodMs / 1000 },
    slowConsumers: slowOptions,
  },
  flood: flood && {
    ...(floodBase && floodAbuse && { compare: compareFlood(floodBase, floodAbuse) }),
    baseline: flood.baseline,
    abuse: flood.abuse,
  },
  slowConsumers: slow && {
    ...(slowBase && slowAbuse && { compare: compareSlow(slowBase, slowAbuse) }),
    baseline: slow.baseline,
    abuse: slow.abuse,
  },
  findings: findings(flood, slow, {
    crowdSockets: slowOptions.crowdSockets,
    largeRatio: raw.largeRatio,
  }),
};
const out = path.resolve(raw.out);
await mkdir(path.dirname(out), { recursive: true });
await writeFile(out, `${JSON.stringify(report, null, 2)}\n`);
printSummary();
log(`report: ${out}`);

function printSummary(): void {
  const lines: string[] = [];
  const table = (title: string, rows: Record<string, Compared> | undefined): void => {
    if (!rows) return;
    lines.push(
      title,
      `  ${'measurement'.padEnd(22)}${'baseline'.padStart(12)}${'abuse'.padStart(12)}${'ratio'.padStart(8)}`,
    );
    for (const [key, value] of Object.entries(rows)) {
      lines.push(
        `  ${key.padEnd(22)}${String(value.baseline).padStart(12)}${String(value.abuse).padStart(12)}${String(value.ratio ?? '-').padStart(8)}`,
      );
    }
  };
  table(
    'flood (another user connects and subscribes while one device floods message:send)',
    report.flood?.compare,
  );
  const f = floodAbuse?.flood;
  if (f && floodAbuse) {
    lines.push(
      `  flooder: sent ${f.sent} (${f.sendsPerSec}/s, stopped by ${f.stoppedBy}); acks ok ${f.acks.ok}, rate_limited ${f.acks.rateLimited}, other ${JSON.stringify(f.acks.other)}, unanswered ${f.acks.unanswered}; dropped ${f.disconnects} times (${f.sessionEnded ?? 'no session_ended'}), handshakes refused ${f.connectsRefused}; rows written ${floodAbuse.floodRowsWritten}`,
    );
  }
  const cpu = (run: { readonly cpuCores: object } | undefined): string =>
    run ? JSON.stringify(run.cpuCores) : '-';
  if (floodBase || floodAbuse) {
    lines.push(`  cpu cores: baseline ${cpu(floodBase)}, abuse ${cpu(floodAbuse)}`);
  }
  table(
    'slow consumers (paused sockets in a room with 16 KB changes)',
    report.slowConsumers?.compare,
  );
  if (slowAbuse) {
    lines.push(
      `  normal subscribers complete: baseline ${slowBase?.allNormalComplete ?? '-'}, abuse ${slowAbuse.allNormalComplete}; slow sockets dropped ${slowAbuse.crowd.droppedSlowConsumer}/${slowAbuse.crowd.sockets} (session_ended seen by ${slowAbuse.crowd.sawSessionEnded})`,
    );
  }
  if (slowBase || slowAbuse) {
    lines.push(`  cpu cores: baseline ${cpu(slowBase)}, abuse ${cpu(slowAbuse)}`);
  }
  lines.push(report.findings.length ? 'findings:' : 'findings: none');
  for (const finding of report.findings) lines.push(`  - ${finding}`);
  console.log(lines.join('\n'));
}

/**
 * Waits (up to 30 s) for the machine to be quiet: on 2 cores a concurrent build or test run
 * would be measured as the abuser's cost. Returns the last reading (busy cores).
 */
async function waitForQuietMachine(): Promise<number> {
  const deadline = performance.now() + 30_000;
  for (;;) {
    const cpu = await MachineCpu.start();
    await sleep(1000);
    const busy = await cpu.busyCores();
    if (busy <= 0.5 || performance.now() > deadline) {
      if (busy > 0.5) log(`machine still busy (${busy} cores); running anyway`);
      return busy;
    }
    log(`machine busy (${busy} cores used by other processes); waiting`);
    await sleep(2000);
  }
}
