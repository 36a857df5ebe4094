import type {
  ScenarioResult,
  TargetName,
  TargetRun,
  ThresholdCheck,
} from '../report/load-report.js';
import { chatFanout } from '../scenarios/chat-fanout.js';
import { connectionStorm } from '../scenarios/connection-storm.js';
import { largeRoom } from '../scenarios/large-room.js';
import { presenceTyping } from '../scenarios/presence-typing.js';
import { reconnectStorm } from '../scenarios/reconnect-storm.js';
import type { Scenario, ScenarioSettings } from '../scenarios/scenario.js';
import { slowConsumers } from '../scenarios/slow-consumers.js';
import { sqlWrites } from '../scenarios/sql-writes.js';
import { check } from './threshold-checks.js';

/** One run of the bench: a scenario at a size that fits a 2-core machine. */
export interface SuiteEntry {
  /** Name in the report (a scenario may run twice at two sizes). */
  readonly name: string;
  readonly scenario: Scenario;
  readonly overrides: Partial<ScenarioSettings>;
  readonly targets: readonly TargetName[] | undefined;
}

/** Sockets one gateway holds in the bench: its open-file limit (20,000 here) less what it needs besides. */
export const HELD_CONNECTIONS = 19_000;

/** What `nx run loadgen:bench` (`ccs-load suite`) runs, in order. */
export const BENCH_SUITE: readonly SuiteEntry[] = [
  {
    name: 'connection-storm',
    scenario: connectionStorm,
    overrides: { conversations: HELD_CONNECTIONS / 5 },
    targets: ['ccs', 'bare'],
  },
  {
    name: 'connection-storm-3-gateways',
    scenario: connectionStorm,
    overrides: { conversations: 10_000, servers: 3 },
    targets: ['ccs'],
  },
  { name: 'reconnect-storm', scenario: reconnectStorm, overrides: {}, targets: undefined },
  { name: 'chat-fanout', scenario: chatFanout, overrides: {}, targets: undefined },
  { name: 'large-room', scenario: largeRoom, overrides: {}, targets: undefined },
  { name: 'slow-consumers', scenario: slowConsumers, overrides: {}, targets: undefined },
  { name: 'sql-writes', scenario: sqlWrites, overrides: {}, targets: undefined },
  { name: 'presence-typing', scenario: presenceTyping, overrides: {}, targets: undefined },
];

function runOf(
  results: readonly ScenarioResult[],
  name: string,
  target: TargetName,
): TargetRun | undefined {
  return results
    .find((result) => result.scenario === name)
    ?.runs.find((run) => run.target === target);
}

/** The targets for the bench, each beside bare socket.io measured in the same run. */
export function suiteChecks(results: readonly ScenarioResult[]): ThresholdCheck[] {
  const checks: ThresholdCheck[] = [];
  const ccs = runOf(results, 'connection-storm', 'ccs');
  const bare = runOf(results, 'connection-storm', 'bare');
  if (ccs && bare) {
    const name = 'connection-storm';
    checks.push(
      check(
        name,
        'ccs',
        'connections.succeeded',
        ccs.connections.succeeded,
        '>=',
        ccs.connections.attempted,
      ),
      check(
        name,
        'ccs',
        'rssPerConnectionBytes ÷ bare',
        ratio(ccs.servers[0]?.rssPerConnectionBytes, bare.servers[0]?.rssPerConnectionBytes),
        '<=',
        1.5,
      ),
      check(
        name,
        'ccs',
        'connections.perSec ÷ bare',
        ratio(ccs.connections.perSec, bare.connections.perSec),
        '>=',
        0.8,
      ),
      check(name, 'ccs', 'subscribes.perSec', ccs.subscribes?.perSec ?? 0, '>=', 2_000),
      check(
        name,
        'ccs',
        'subscribes.latency.p99Ms',
        ccs.subscribes?.latency.p99Ms ?? Infinity,
        '<=',
        50,
      ),
    );
  }
  const fleet = runOf(results, 'connection-storm-3-gateways', 'ccs');
  if (fleet) {
    checks.push(
      check(
        'connection-storm-3-gateways',
        'ccs',
        'connections.succeeded',
        fleet.connections.succeeded,
        '>=',
        50_000,
      ),
    );
  }
  const storm = runOf(results, 'reconnect-storm', 'ccs');
  if (storm?.resume) {
    checks.push(
      check('reconnect-storm', 'ccs', 'resume.time.p99Ms', storm.resume.time.p99Ms, '<=', 500),
    );
  }
  return checks;
}

function ratio(value: number | undefined, base: number | undefined): number {
  if (!value || !base) return Number.NaN;
  return Math.round((value / base) * 1000) / 1000;
}
