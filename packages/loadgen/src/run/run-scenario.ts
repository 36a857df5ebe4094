import type { ScenarioResult, TargetName, TargetRun } from '../report/load-report.js';
import {
  BASE_SETTINGS,
  deviceCount,
  populationOf,
  type Scenario,
  type ScenarioSettings,
} from '../scenarios/scenario.js';
import { waitForQuietMachine } from '../measure/machine-info.js';
import { LoadRig } from './load-rig.js';
import type { LoadProgress } from './load-progress.js';
import { TargetSession } from './target-session.js';

/** Where a run's services are. */
export interface LoadEnvironment {
  /** Maintenance database each scenario's database is created from (and dropped). */
  readonly adminUrl: string;
  readonly redisUrl: string;
  readonly progress: LoadProgress;
  /** Write a V8 CPU profile of every server process into this directory. */
  readonly profileDir?: string;
}

/** The settings a scenario runs with: its defaults, then `overrides`. */
export function settingsOf(
  scenario: Scenario,
  overrides: Partial<ScenarioSettings>,
): ScenarioSettings {
  return { ...BASE_SETTINGS, ...scenario.defaults, ...overrides };
}

/**
 * Runs `scenario` against each target in turn, on one freshly seeded database: the same
 * population, clients and payloads for every target.
 */
export async function runScenario(
  scenario: Scenario,
  options: {
    /** Name in the report. @default scenario.name */
    readonly name?: string;
    readonly targets?: readonly TargetName[];
    readonly overrides?: Partial<ScenarioSettings>;
    readonly environment: LoadEnvironment;
  },
): Promise<ScenarioResult> {
  const settings = settingsOf(scenario, options.overrides ?? {});
  const { progress } = options.environment;
  const rig = await LoadRig.create({
    adminUrl: options.environment.adminUrl,
    redisUrl: options.environment.redisUrl,
    label: scenario.name,
  });
  const runs: TargetRun[] = [];
  try {
    progress.log(`${scenario.name}: seeding ${deviceCount(settings)} devices`);
    const devices = await rig.seed(populationOf(settings));
    for (const target of options.targets ?? scenario.targets) {
      // What the previous run left (a dropped database's vacuum, sockets closing) is not
      // this target's latency.
      await waitForQuietMachine({
        maxBusyCores: 0.3,
        maxWaitMs: 30_000,
        log: (line) => progress.log(`${scenario.name}: ${line}`),
      });
      progress.log(`${scenario.name}: ${target}`);
      const session = await TargetSession.start({
        target,
        databaseUrl: rig.database.url,
        redisUrl: rig.redisUrl,
        redisKeyPrefix: `${rig.redisKeyPrefix}${target}:`,
        jwtSecret: rig.jwtSecret,
        servers: settings.servers,
        redisPresence: scenario.redisPresence ?? false,
        gatewayLimits: scenario.gatewayLimits,
        clientProcesses: settings.clientProcesses,
        devices: devices.length,
        sourceAddresses: settings.sourceAddresses,
        progress,
        ...(options.environment.profileDir && { profileDir: options.environment.profileDir }),
      });
      try {
        await scenario.drive({ session, devices, settings, rig });
        // CCS owes its subscribers every change committed, seen by a client or not.
        if (target === 'ccs') session.recordHeads(await rig.heads());
        runs.push(await session.finish());
      } catch (error) {
        await session.close();
        throw error;
      }
    }
  } finally {
    progress.stop();
    await rig.close();
  }
  return {
    scenario: options.name ?? scenario.name,
    description: scenario.description,
    settings: { ...settings, devices: deviceCount(settings) },
    runs,
  };
}
