import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import { connect } from 'node:net';
import { createDatabase, redactUrl, type Database } from '@ccs/db';
import pg from 'pg';

/** The two gateways of the cluster under test. */
export type GatewayNode = 'A' | 'B';

/**
 * What the suite does to a stack. The names are those of an operator stack's `commands`
 * (see `operator-stack.ts`); a target without one cannot run the faults that need it.
 */
export const FAULT_ACTIONS = [
  'killGatewayA',
  'startGatewayA',
  'killGatewayB',
  'startGatewayB',
  'stopRedis',
  'startRedis',
  'crashPostgres',
  'startPostgres',
] as const;

export type FaultAction = (typeof FAULT_ACTIONS)[number];

/**
 * A CCS deployment the fault suite runs against: two gateways of one cluster, the database
 * behind them, and the faults to inject. Each action resolves once its effect shows (a killed
 * gateway no longer answers, a started one is ready, …), so tests never sleep on a guess.
 */
export interface FaultTarget {
  /** Names the target in reports: the suite's own stack, or the operator's JSON file. */
  readonly description: string;
  /** Base URLs of the gateways; a restarted gateway comes back on the same URL. */
  readonly gateways: Readonly<Record<GatewayNode, string>>;
  /** The secret the gateways verify device tokens with (the seeded devices are signed with it). */
  readonly jwtSecret: string;
  /** The cluster's database, to seed users, devices and conversations through. */
  readonly db: Database;
  /** SIGKILL of the gateway's process; resolves once its URL no longer answers. */
  killGateway(node: GatewayNode): Promise<void>;
  /** Starts it again on the same URL; resolves once its `/readyz` answers 200. */
  startGateway(node: GatewayNode): Promise<void>;
  /** Stops Redis; resolves once every gateway's `/readyz` says it is not ready. */
  stopRedis(): Promise<void>;
  /** Starts Redis again; resolves once every gateway's `/readyz` answers 200. */
  startRedis(): Promise<void>;
  /** Kills PostgreSQL at once (a crash); resolves once a new connection is refused. */
  crashPostgres(): Promise<void>;
  /** Starts PostgreSQL again (crash recovery); resolves once it answers `SELECT 1`. */
  startPostgres(): Promise<void>;
  /**
   * `pg_terminate_backend` of every connection of the gateways to the database (by
   * `application_name LIKE 'ccs-sync-server%'`); resolves with how many were terminated.
   */
  terminateBackends(): Promise<number>;
  /** Closes the target's connections, and stops what the target itself started. */
  close(): Promise<void>;
}

/** How one kind of stack carries out the faults; {@link openFaultTarget} adds the waits. */
export interface StackControl {
  readonly description: string;
  readonly gateways: Readonly<Record<GatewayNode, string>>;
  readonly jwtSecret: string;
  readonly databaseUrl: string;
  readonly actions: Readonly<Partial<Record<FaultAction, () => Promise<void>>>>;
  /** How long a fault's effect, or a restarted service, may take to show. */
  readonly readyTimeoutMs: number;
  close(): Promise<void>;
}

const POLL_MS = 50;
/** How long a stack may take to answer when a test opens it: it must be up already. */
const PREFLIGHT_MS = 5000;

/** Polls `probe` until it is true; throws, naming `what`, after `timeoutMs`. */
export async function waitUntil(
  what: string,
  probe: () => Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/**
 * The HTTP status of `GET url + path` (on a connection of its own), or `undefined` when nothing
 * answers there within 3 s.
 */
function statusOf(url: string, path: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    const get = url.startsWith('https:') ? httpsGet : httpGet;
    const request = get(`${url}${path}`, { agent: false, timeout: 3000 }, (response) => {
      response.resume();
      response.once('end', () => resolve(response.statusCode));
      response.once('error', () => resolve(undefined));
    });
    request.once('timeout', () => request.destroy());
    request.once('error', () => resolve(undefined));
  });
}

/** Whether the gateway's `/readyz` answers 200 (its PostgreSQL and Redis answer it). */
export async function gatewayReady(url: string): Promise<boolean> {
  return (await statusOf(url, '/readyz')) === 200;
}

/** Whether a TCP connection to `host:port` is taken (within 2 s). */
function portTakes(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 2000 });
    const done = (taken: boolean): void => {
      socket.destroy();
      resolve(taken);
    };
    socket.once('connect', () => done(true));
    socket.once('timeout', () => done(false));
    socket.once('error', () => done(false));
  });
}

/** Whether PostgreSQL answers `SELECT 1` on a new connection. */
async function postgresAnswers(url: string): Promise<boolean> {
  // A refused port is asked no further: pg's client never settles a promise of a connection
  // that never opened, and a test must not leave one behind.
  const { hostname, port } = new URL(url);
  if (hostname && !(await portTakes(hostname.replace(/^\[|\]$/g, ''), Number(port || 5432)))) {
    return false;
  }
  const client = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: 2000,
    application_name: 'ccs-fault-probe',
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Something a fault stops: the actions that stop and start it, and how each shows. */
interface Service {
  readonly name: string;
  readonly stop: FaultAction;
  readonly start: FaultAction;
  /** Whether the stop shows (e.g. a killed gateway no longer answers). */
  readonly stopped: () => Promise<boolean>;
  /** Whether it is back (e.g. a gateway's `/readyz` answers 200). */
  readonly started: () => Promise<boolean>;
}

/**
 * The {@link FaultTarget} over a stack: each action of `stack`, then a wait for its effect, and
 * a pool on the database to seed through and to terminate the gateways' backends with. Closing
 * it starts again what a test left stopped (a test that failed halfway) and waits for every
 * gateway to be ready, so the next test finds the stack as this one did. Rejects, saying what
 * does not answer, when the stack is not up to begin with.
 */
export async function openFaultTarget(stack: StackControl): Promise<FaultTarget> {
  const { gateways, readyTimeoutMs: timeout } = stack;
  for (const [node, url] of Object.entries(gateways)) {
    await waitUntil(
      `${stack.description}: gateway ${node} ${url}/readyz answers 200`,
      () => gatewayReady(url),
      PREFLIGHT_MS,
    );
  }
  if (!(await postgresAnswers(stack.databaseUrl))) {
    throw new Error(
      `${stack.description}: PostgreSQL at ${redactUrl(stack.databaseUrl)} does not answer`,
    );
  }
  const database = createDatabase({
    url: stack.databaseUrl,
    maxConnections: 2,
    applicationName: 'ccs-fault-suite',
  });
  const urls = [...new Set(Object.values(gateways))];
  const everyGateway = async (ready: boolean): Promise<boolean> => {
    const states = await Promise.all(urls.map((url) => statusOf(url, '/readyz')));
    // Not ready means: answering, and saying 503 (a gateway that does not answer says nothing).
    return states.every((status) => (ready ? status === 200 : status === 503));
  };
  const gateway = (node: GatewayNode): Service => ({
    name: `gateway ${node} (${gateways[node]})`,
    stop: `killGateway${node}`,
    start: `startGateway${node}`,
    stopped: async () => (await statusOf(gateways[node], '/healthz')) === undefined,
    started: () => gatewayReady(gateways[node]),
  });
  const services = {
    A: gateway('A'),
    B: gateway('B'),
    redis: {
      name: "Redis (every gateway's /readyz)",
      stop: 'stopRedis',
      start: 'startRedis',
      stopped: () => everyGateway(false),
      started: () => everyGateway(true),
    },
    postgres: {
      name: 'PostgreSQL',
      stop: 'crashPostgres',
      start: 'startPostgres',
      stopped: async () => !(await postgresAnswers(stack.databaseUrl)),
      started: () => postgresAnswers(stack.databaseUrl),
    },
  } satisfies Record<string, Service>;
  const down = new Set<Service>();
  const act = async (action: FaultAction): Promise<void> => {
    const run = stack.actions[action];
    if (!run) throw new Error(`${stack.description} has no ${action} action`);
    await run();
  };
  const stop = async (service: Service): Promise<void> => {
    down.add(service);
    await act(service.stop);
    await waitUntil(`${service.name} down after ${service.stop}`, service.stopped, timeout);
  };
  const start = async (service: Service): Promise<void> => {
    await act(service.start);
    await waitUntil(`${service.name} back after ${service.start}`, service.started, timeout);
    down.delete(service);
  };
  return {
    description: stack.description,
    gateways,
    jwtSecret: stack.jwtSecret,
    db: database.db,
    killGateway: (node) => stop(services[node]),
    startGateway: (node) => start(services[node]),
    stopRedis: () => stop(services.redis),
    startRedis: () => start(services.redis),
    crashPostgres: () => stop(services.postgres),
    startPostgres: () => start(services.postgres),
    async terminateBackends() {
      // The gateways' backends on this database only: not this pool's, nor another database's.
      const { rows } = await database.pool.query<{ n: number }>(
        `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
         WHERE datname = current_database() AND application_name LIKE 'ccs-sync-server%'`,
      );
      return rows[0]!.n;
    },
    async close() {
      const warn = (error: unknown): void => console.warn(`[fault] ${String(error)}`);
      for (const service of down) await start(service).catch(warn);
      await waitUntil(
        'every gateway ready after the test',
        () => everyGateway(true),
        timeout,
      ).catch(warn);
      await database.close();
      await stack.close();
    },
  };
}
