import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@ccs/test-env';
import { SYNC_SERVER_ENTRY } from '@ccs/test-server';
import { gatewayReady, waitUntil, type FaultAction, type GatewayNode } from './fault-target.js';
import { runCommandLine } from './operator-stack.js';
import { startThrowawayPostgres, type ThrowawayPostgres } from './throwaway-postgres.js';
import { redisServerArgs } from './throwaway-redis.js';

/** A stack run the way an operator runs one, and the fault target file that describes it. */
export interface LoopbackStack {
  /** The fault target file (`CCS_FAULT_TARGET`): URLs, database, secret, shell commands. */
  readonly configPath: string;
  /** Stops everything it started and removes its directory. */
  close(): Promise<void>;
}

const TIMEOUT_MS = 15_000;

/** Quotes a word for `/bin/sh`. */
function quote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

function shellLine(argv: readonly string[]): string {
  return argv.map(quote).join(' ');
}

/**
 * Starts, on loopback, a stack that the suite knows only through a fault target file, as it
 * knows an operator's: a PostgreSQL cluster (`initdb` in a temp dir, migrated), a daemonized
 * `redis-server` and two `node apps/sync-server/dist/main.js --role gateway` processes on fixed
 * free ports, started from shell scripts with their pids in files. Each fault is a shell
 * command: `kill -9` of a pid, `redis-cli shutdown nosave`, `pg_ctl stop -m immediate` (through
 * `runuser` as root), and the scripts to start them again.
 */
export async function startLoopbackStack(): Promise<LoopbackStack> {
  const dir = await mkdtemp(join(tmpdir(), 'ccs-loopback-'));
  const file = (name: string): string => join(dir, name);
  let postgres: ThrowawayPostgres | undefined;
  const cleanup: string[] = [];
  const close = async (): Promise<void> => {
    for (const line of cleanup) {
      await runCommandLine(line, { cwd: dir, timeoutMs: TIMEOUT_MS }).catch(() => undefined);
    }
    await postgres?.close();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    postgres = await startThrowawayPostgres();
    const redisPort = await freePort();
    const jwtSecret = randomBytes(24).toString('hex');
    const gateways = {
      A: `http://127.0.0.1:${await freePort()}`,
      B: `http://127.0.0.1:${await freePort()}`,
    };
    const gatewayScript = (node: GatewayNode): string => {
      const env = {
        HOST: '127.0.0.1',
        PORT: new URL(gateways[node]).port,
        DATABASE_URL: postgres!.url,
        REDIS_URL: `redis://127.0.0.1:${redisPort}`,
        CCS_REDIS_PREFIX: 'ccs-loopback',
        CCS_JWT_SECRET: jwtSecret,
        CCS_RETENTION_HOURS: '0',
        CCS_PRESENCE_HEARTBEAT_MS: '1000',
        CCS_PRESENCE_TTL_MS: '3000',
      };
      const server = shellLine([process.execPath, SYNC_SERVER_ENTRY, '--role', 'gateway']);
      return [
        '#!/bin/sh',
        `# Starts gateway ${node} in the background; its pid goes to gateway-${node}.pid.`,
        ...Object.entries(env).map(([name, value]) => `export ${name}=${quote(value)}`),
        `nohup ${server} >> ${quote(file(`gateway-${node}.log`))} 2>&1 < /dev/null &`,
        `echo $! > ${quote(file(`gateway-${node}.pid`))}`,
        '',
      ].join('\n');
    };
    const commands: Record<FaultAction, string> = {
      killGatewayA: `kill -9 "$(cat ${quote(file('gateway-A.pid'))})"`,
      startGatewayA: `sh ${quote(file('start-gateway-A.sh'))}`,
      killGatewayB: `kill -9 "$(cat ${quote(file('gateway-B.pid'))})"`,
      startGatewayB: `sh ${quote(file('start-gateway-B.sh'))}`,
      stopRedis: shellLine(['redis-cli', '-p', String(redisPort), 'shutdown', 'nosave']),
      startRedis: shellLine([
        'redis-server',
        ...redisServerArgs(redisPort, dir),
        '--daemonize',
        'yes',
        '--pidfile',
        file('redis.pid'),
      ]),
      crashPostgres: shellLine(postgres.argv.crash),
      startPostgres: shellLine(postgres.argv.start),
    };
    for (const node of ['A', 'B'] as const) {
      await writeFile(file(`start-gateway-${node}.sh`), gatewayScript(node));
    }
    const configPath = file('fault-target.json');
    const config = {
      gateways: [gateways.A, gateways.B],
      databaseUrl: postgres.url,
      jwtSecret,
      commands,
      commandTimeoutMs: TIMEOUT_MS,
      readyTimeoutMs: TIMEOUT_MS,
    };
    await writeFile(configPath, `${JSON.stringify(config, null, 2)}\n`);

    cleanup.push(commands.killGatewayA, commands.killGatewayB, commands.stopRedis);
    for (const start of [commands.startRedis, commands.startGatewayA, commands.startGatewayB]) {
      await runCommandLine(start, { cwd: dir, timeoutMs: TIMEOUT_MS });
    }
    for (const url of Object.values(gateways)) {
      await waitUntil(`loopback gateway ${url} ready`, () => gatewayReady(url), TIMEOUT_MS);
    }
    return { configPath, close };
  } catch (error) {
    await close();
    throw error;
  }
}
