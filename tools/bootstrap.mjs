#!/usr/bin/env node
// Workspace bootstrap: `npm start` and `npm test` both run through here. Dependency-free (it runs
// before node_modules exists), idempotent, and quick when everything is already up.
//
//   node tools/bootstrap.mjs start     install, services, build, migrate, serve with a live demo
//   node tools/bootstrap.mjs test      install, services, Chromium, lint, typecheck, tests, e2e
//   node tools/bootstrap.mjs services  install and make PostgreSQL and Redis reachable, then exit
//
// Environment: DATABASE_URL (default postgres://postgres@127.0.0.1:5432/ccs), REDIS_URL
// (default redis://127.0.0.1:6379). Only services on a loopback address are started locally.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
env.DATABASE_URL ??= 'postgres://postgres@127.0.0.1:5432/ccs';
env.REDIS_URL ??= 'redis://127.0.0.1:6379';
const databaseUrl = new URL(env.DATABASE_URL);
const redisUrl = new URL(env.REDIS_URL);
const isRoot = process.getuid?.() === 0;

const [nodeMajor, nodeMinor] = process.versions.node.split('.').map(Number);
if (nodeMajor < 20 || (nodeMajor === 20 && nodeMinor < 19)) {
  console.error(`[ccs] Node ${process.versions.node} is too old: install Node 20.19 or newer.`);
  process.exit(1);
}
const reportsDir = join(root, 'reports', 'vitest');

const log = (message) => console.log(`[ccs] ${message}`);

class BootstrapError extends Error {}

function run(command, args, options = {}) {
  const result = spawnSync(command, args, {
    cwd: root,
    env,
    stdio: options.quiet ? 'pipe' : 'inherit',
    encoding: 'utf8',
  });
  if (options.check !== false && result.status !== 0) {
    const output = options.quiet ? `\n${result.stdout ?? ''}${result.stderr ?? ''}` : '';
    throw new BootstrapError(
      `\`${command} ${args.join(' ')}\` failed (exit ${result.status})${output}`,
    );
  }
  return result;
}

function hasCommand(command) {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

function isLoopback(host) {
  return ['localhost', '127.0.0.1', '::1', '[::1]'].includes(host) || host.startsWith('127.');
}

function sleep(ms) {
  return new Promise((done) => setTimeout(done, ms));
}

/** Opens a TCP connection, optionally writes a probe and checks the first reply. */
function probe(host, port, { send, expect } = {}) {
  return new Promise((done) => {
    const socket = connect({ host: host.replace(/^\[|\]$/g, ''), port: Number(port) });
    const finish = (ok) => {
      socket.destroy();
      done(ok);
    };
    socket.setTimeout(1000, () => finish(false));
    socket.once('error', () => finish(false));
    socket.once('connect', () => {
      if (!send) return finish(true);
      socket.write(send);
    });
    socket.once('data', (data) => finish(data.toString().startsWith(expect)));
  });
}

const postgresUp = () => probe(databaseUrl.hostname, databaseUrl.port || 5432);
const redisUp = () =>
  probe(redisUrl.hostname, redisUrl.port || 6379, { send: 'PING\r\n', expect: '+PONG' });

async function waitFor(check, seconds) {
  for (let i = 0; i < seconds * 4; i++) {
    if (await check()) return true;
    await sleep(250);
  }
  return false;
}

// ── node_modules ─────────────────────────────────────────────────────────────────────────────

function ensureNodeModules() {
  const lock = join(root, 'package-lock.json');
  const stamp = join(root, 'node_modules', '.ccs-lock-hash');
  const hash = createHash('sha256').update(readFileSync(lock)).digest('hex');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === hash) return;
  log('installing node_modules (npm ci)…');
  run('npm', ['ci', '--no-audit', '--no-fund']);
  writeFileSync(stamp, hash);
}

// ── PostgreSQL and Redis ─────────────────────────────────────────────────────────────────────

let aptUpdated = false;
function aptInstall(packages) {
  if (!aptUpdated) {
    log('apt-get update…');
    run('apt-get', ['-o', 'DPkg::Lock::Timeout=120', 'update', '-qq'], { quiet: true });
    aptUpdated = true;
  }
  log(`installing Debian packages: ${packages.join(' ')}…`);
  // Wait for apt-daily and friends instead of failing at once on a freshly booted machine.
  run('apt-get', ['-o', 'DPkg::Lock::Timeout=120', 'install', '-y', '-qq', ...packages], {
    quiet: true,
  });
}

function dockerAnswers() {
  return hasCommand('docker') && spawnSync('docker', ['info'], { stdio: 'ignore' }).status === 0;
}

/** The local Debian cluster on the configured port, `{ version, name, status }`, if any. */
function localCluster() {
  if (!hasCommand('pg_lsclusters')) return undefined;
  const clusters = run('pg_lsclusters', ['--no-header'], { quiet: true }).stdout.trim().split('\n');
  const port = String(databaseUrl.port || 5432);
  for (const line of clusters) {
    const [version, name, clusterPort, status] = line.trim().split(/\s+/);
    if (clusterPort === port) return { version, name, status };
  }
  return undefined;
}

/** Runs `pg_ctlcluster <action>` on the local cluster. */
function controlCluster({ version, name }, action) {
  run('pg_ctlcluster', ['--skip-systemctl-redirect', version, name, action], { quiet: true });
}

/** Starts (or, when already online, reloads) the local cluster on the configured port. */
function startLocalPostgres() {
  const cluster = localCluster();
  if (!cluster) return false;
  const action = cluster.status === 'online' ? 'reload' : 'start';
  log(
    `${action === 'start' ? 'starting' : 'reloading'} PostgreSQL cluster ${cluster.version}/${cluster.name}…`,
  );
  controlCluster(cluster, action);
  return true;
}

/** Lets local tools connect over loopback without a password, as the default URLs expect. */
function trustLoopbackConnections() {
  const base = '/etc/postgresql';
  for (const version of readdirSync(base)) {
    const hba = join(base, version, 'main', 'pg_hba.conf');
    if (!existsSync(hba)) continue;
    const text = readFileSync(hba, 'utf8');
    if (text.includes('# ccs: local development trust')) continue;
    const rules =
      '# ccs: local development trust\n' +
      'host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\n';
    writeFileSync(hba, rules + text);
  }
}

/**
 * Makes one service reachable: a running one is used as it is; else a locally installed one is
 * started; else Debian's package is installed (as root); else docker compose starts it; else
 * the error names the commands to run.
 */
async function ensureService(service) {
  if (await service.isUp()) return;
  if (!isLoopback(service.url.hostname)) {
    throw new BootstrapError(
      `${service.name} at ${service.url.host} does not answer; start it or fix ${service.envVar}.`,
    );
  }
  if (service.startLocal()) {
    // an installed server was started
  } else if (isRoot && hasCommand('apt-get')) {
    aptInstall([service.aptPackage]);
    await service.afterInstall();
  } else if (dockerAnswers()) {
    log(`starting ${service.name} with docker compose…`);
    run('docker', ['compose', '-f', 'docker/compose.yml', 'up', '-d', service.composeService]);
  } else {
    throw new BootstrapError(
      `${service.name} at ${service.url.host} does not answer and none could be started here. ` +
        'Run one of:\n' +
        '  sudo apt-get install -y postgresql redis-server\n' +
        '  docker compose -f docker/compose.yml up -d postgres redis\n' +
        `or set ${service.envVar} to a server you have.`,
    );
  }
  if (!(await waitFor(service.isUp, 60))) {
    throw new BootstrapError(
      `${service.name} at ${service.url.host} still does not answer after starting it.`,
    );
  }
}

const ensurePostgres = () =>
  ensureService({
    name: 'PostgreSQL',
    url: databaseUrl,
    envVar: 'DATABASE_URL',
    isUp: postgresUp,
    startLocal: startLocalPostgres,
    aptPackage: 'postgresql',
    composeService: 'postgres',
    afterInstall: async () => {
      trustLoopbackConnections();
      startLocalPostgres();
    },
  });

function startLocalRedis() {
  if (!hasCommand('redis-server')) return false;
  log('starting redis-server…');
  run('redis-server', [
    '--daemonize',
    'yes',
    '--bind',
    '127.0.0.1',
    '-::1',
    '--port',
    String(redisUrl.port || 6379),
    '--save',
    '',
    '--appendonly',
    'no',
  ]);
  return true;
}

const ensureRedis = () =>
  ensureService({
    name: 'Redis',
    url: redisUrl,
    envVar: 'REDIS_URL',
    isUp: redisUp,
    startLocal: startLocalRedis,
    aptPackage: 'redis-server',
    composeService: 'redis',
    // Debian's package may start its own service; start ours only if it did not.
    afterInstall: async () => {
      if (!(await waitFor(redisUp, 3))) startLocalRedis();
    },
  });

/** Creates the service's database when missing (node_modules is installed by now). */
async function ensureDatabase() {
  try {
    await createDatabaseIfMissing();
  } catch (firstError) {
    let error = firstError;
    // Debian's default pg_hba.conf asks for a password on 127.0.0.1; the local default URLs
    // have none. On a local cluster we manage as root, allow loopback and try again.
    const authFailed =
      ['28P01', '28000'].includes(error.code) || /password|SASL/i.test(error.message);
    if (authFailed && isRoot && isLoopback(databaseUrl.hostname) && existsSync('/etc/postgresql')) {
      log('PostgreSQL asks for a password on loopback; allowing local trust for development…');
      trustLoopbackConnections();
      startLocalPostgres();
      await waitFor(postgresUp, 30);
      try {
        await createDatabaseIfMissing();
        return;
      } catch (retryError) {
        error = retryError;
      }
    }
    throw new BootstrapError(
      `cannot use PostgreSQL at ${databaseUrl.host} as ${databaseUrl.username || 'the current user'}: ${error.message}. ` +
        'Set DATABASE_URL to a user and password that can create databases.',
    );
  }
}

async function createDatabaseIfMissing() {
  const { default: pg } = await import('pg');
  const name = databaseUrl.pathname.slice(1);
  const admin = new URL(databaseUrl);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount === 0) {
      log(`creating database ${name}…`);
      await client.query(`CREATE DATABASE "${name.replaceAll('"', '""')}"`);
    }
  } finally {
    await client.end();
  }
}

/**
 * Turns on track_commit_timestamp, so that a change's `committedAt` is its commit time (without
 * it, the time of the write stands in). The setting needs a restart, so this is done only for a
 * local cluster this script manages as root; elsewhere it says how.
 */
async function ensureCommitTimestamps() {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: databaseUrl.toString() });
  await client.connect();
  let cluster;
  try {
    const { rows } = await client.query('SHOW track_commit_timestamp');
    if (rows[0].track_commit_timestamp === 'on') return;
    cluster = isRoot && isLoopback(databaseUrl.hostname) ? localCluster() : undefined;
    if (!cluster) {
      log(
        'track_commit_timestamp is off: committedAt will be the time of the write. ' +
          'Run ALTER SYSTEM SET track_commit_timestamp = on and restart PostgreSQL to get commit times.',
      );
      return;
    }
    await client.query('ALTER SYSTEM SET track_commit_timestamp = on');
  } finally {
    await client.end();
  }
  log(
    `restarting PostgreSQL ${cluster.version}/${cluster.name} to turn on track_commit_timestamp…`,
  );
  controlCluster(cluster, 'restart');
  if (!(await waitFor(postgresUp, 60))) {
    throw new BootstrapError(
      'PostgreSQL did not come back after turning on track_commit_timestamp.',
    );
  }
}

async function ensureServices() {
  ensureNodeModules();
  await ensurePostgres();
  await ensureRedis();
  await ensureDatabase();
  await ensureCommitTimestamps();
  log(`PostgreSQL ${databaseUrl.host} and Redis ${redisUrl.host} are reachable`);
}

// ── Chromium (the browser e2e test) ──────────────────────────────────────────────────────────

const chromiumCommands = ['chromium', 'chromium-browser', 'google-chrome'];

/**
 * The e2e suite drives the /demo page in headless Chromium: Debian's `chromium` is installed
 * (as root) when none is there. Without it, that test is skipped, not failed; this says so.
 */
function ensureChromium() {
  if (env.CHROMIUM_PATH && existsSync(env.CHROMIUM_PATH)) return;
  if (chromiumCommands.some(hasCommand)) return;
  if (!isRoot || !hasCommand('apt-get')) {
    log(
      'Chromium is missing and cannot be installed here (not root, or no apt-get): the browser ' +
        'e2e test will be skipped. Install it (sudo apt-get install -y chromium) or set CHROMIUM_PATH.',
    );
    return;
  }
  try {
    aptInstall(['chromium']);
  } catch (error) {
    log(`installing Chromium failed; the browser e2e test will be skipped: ${error.message}`);
  }
}

// ── commands ─────────────────────────────────────────────────────────────────────────────────

const bin = (name) => join(root, 'node_modules', '.bin', name);
const nx = (args, options) => run(bin('nx'), [...args, '--output-style=static'], options);

async function start() {
  await ensureServices();
  log('building sync-server…');
  nx(['run', 'sync-server:build'], { quiet: true });
  nx(['run', 'db:migrate'], { quiet: true });
  log('migrated; starting sync-server with a live demo (Ctrl-C stops it)');
  const child = spawn(process.execPath, [join(root, 'apps/sync-server/dist/main.js'), '--demo'], {
    cwd: root,
    env,
    stdio: 'inherit',
  });
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

/** Sums every vitest JSON report written by this run (or restored from the Nx cache). */
function sumReports() {
  const totals = { passed: 0, failed: 0, skipped: 0 };
  if (!existsSync(reportsDir)) return totals;
  for (const file of readdirSync(reportsDir).filter((name) => name.endsWith('.json'))) {
    const report = JSON.parse(readFileSync(join(reportsDir, file), 'utf8'));
    totals.passed += report.numPassedTests ?? 0;
    totals.failed += (report.numFailedTests ?? 0) + (report.numFailedTestSuites ?? 0);
    totals.skipped += (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
  }
  return totals;
}

async function test() {
  await ensureServices();
  ensureChromium();
  rmSync(reportsDir, { recursive: true, force: true });
  mkdirSync(reportsDir, { recursive: true });
  // [name, run, whether its failures show up as failed tests in the vitest reports]
  const steps = [
    ['format', () => run(bin('prettier'), ['--check', '.'], { check: false }), false],
    [
      'lint and typecheck',
      () => nx(['run-many', '-t', 'lint', 'typecheck'], { check: false }),
      false,
    ],
    [
      'lint workspace scripts',
      () => run(bin('eslint'), ['tools', '*.mjs', '*.ts'], { check: false }),
      false,
    ],
    [
      'unit and integration tests',
      () => nx(['run-many', '-t', 'test', '--parallel=2'], { check: false }),
      true,
    ],
    ['e2e', () => nx(['e2e', 'e2e-tests'], { check: false }), true],
  ];
  const failedSteps = [];
  let otherFailures = 0;
  let testStepFailed = false;
  for (const [name, step, reportsTests] of steps) {
    log(`── ${name} ──`);
    if (step().status === 0) continue;
    failedSteps.push(name);
    if (reportsTests) testStepFailed = true;
    else otherFailures += 1;
  }
  const totals = sumReports();
  // Lint or format failing is one failure each; a test step that failed without any failed
  // test in the reports (a crash, a build error) is one failure too.
  const failed = totals.failed + otherFailures + (testStepFailed && totals.failed === 0 ? 1 : 0);
  if (failedSteps.length > 0) log(`failed steps: ${failedSteps.join(', ')}`);
  const summary =
    `${totals.passed} passed, ${failed} failed` +
    (totals.skipped ? `, ${totals.skipped} skipped` : '');
  writeFileSync(join(root, 'reports', 'summary.txt'), `${summary}\n`);
  console.log(summary);
  process.exitCode = failed > 0 || failedSteps.length > 0 ? 1 : 0;
}

const commands = { start, test, services: ensureServices };
const command = commands[process.argv[2] ?? ''];
if (!command) {
  console.error('usage: node tools/bootstrap.mjs <start|test|services>');
  process.exit(2);
}
try {
  await command();
} catch (error) {
  if (!(error instanceof BootstrapError)) throw error;
  console.error(`[ccs] ${error.message}`);
  process.exit(1);
}
