import type { GatewayLimits } from '@ccs/realtime';
import type { LoadDevice, RateStep } from '../clients/load-client-calls.js';
import { rampHoldSpike } from '../measure/rate-schedule.js';
import type { TargetName } from '../report/load-report.js';
import type { LoadRig, PopulationShape } from '../run/load-rig.js';
import type { TargetSession } from '../run/target-session.js';

/** Every size and rate a scenario runs with; each scenario has its defaults, the CLI overrides them. */
export interface ScenarioSettings {
  readonly conversations: number;
  readonly usersPerConversation: number;
  readonly devicesPerUser: number;
  readonly sendersPerConversation: number;
  /** Connects per second over all clients; 0: as fast as `connectConcurrency` lets them. */
  readonly connectRate: number;
  readonly connectConcurrency: number;
  /** Subscribes per second when a scenario subscribes apart from connecting. */
  readonly subscribeRate: number;
  /** Messages per second over all senders once ramped up. */
  readonly sendRate: number;
  readonly rampSec: number;
  readonly holdSec: number;
  readonly spikeRate: number;
  readonly spikeSec: number;
  readonly payloadBytes: number;
  /** Server processes per target (CCS gateways, peer nodes). */
  readonly servers: number;
  readonly clientProcesses: number;
  /** Loopback source addresses (127.0.0.1…) the client sockets are spread over. */
  readonly sourceAddresses: number;
  /** Share of the clients dropped (reconnect storm) or paused (slow consumers). */
  readonly fraction: number;
  /** Typing updates per second (presence-typing). */
  readonly typingRate: number;
}

/** What a scenario's `drive` gets. */
export interface ScenarioRun {
  readonly session: TargetSession;
  readonly devices: readonly LoadDevice[];
  readonly settings: ScenarioSettings;
  readonly rig: LoadRig;
}

/** One load scenario: the population it needs and what it does with it, against any target. */
export interface Scenario {
  readonly name: string;
  readonly description: string;
  /** Targets it runs against unless told otherwise. */
  readonly targets: readonly TargetName[];
  readonly defaults: Partial<ScenarioSettings>;
  /** Share presence through Redis (CCS). */
  readonly redisPresence?: boolean;
  /** Limits of the CCS gateway this scenario sets (e.g. a smaller outbound buffer). */
  readonly gatewayLimits?: GatewayLimits;
  drive(run: ScenarioRun): Promise<void>;
}

/** Defaults every scenario starts from. */
export const BASE_SETTINGS: ScenarioSettings = {
  conversations: 100,
  usersPerConversation: 5,
  devicesPerUser: 2,
  sendersPerConversation: 1,
  connectRate: 0,
  connectConcurrency: 100,
  subscribeRate: 2_500,
  sendRate: 200,
  rampSec: 3,
  holdSec: 10,
  spikeRate: 0,
  spikeSec: 0,
  payloadBytes: 200,
  servers: 1,
  clientProcesses: 2,
  sourceAddresses: 4,
  fraction: 0.5,
  typingRate: 200,
};

/** The population of `settings`. */
export function populationOf(settings: ScenarioSettings): PopulationShape {
  return {
    conversations: settings.conversations,
    usersPerConversation: settings.usersPerConversation,
    devicesPerUser: settings.devicesPerUser,
    sendersPerConversation: settings.sendersPerConversation,
  };
}

/** Devices of `settings`' population. */
export function deviceCount(settings: ScenarioSettings): number {
  return settings.conversations * settings.usersPerConversation * settings.devicesPerUser;
}

/** Connects every device of the run, each subscribing to its conversation once connected. */
export function connectAndSubscribe({ session, devices, settings }: ScenarioRun): Promise<void> {
  return session.open({
    devices,
    connectsPerSec: settings.connectRate,
    concurrency: settings.connectConcurrency,
    subscribe: true,
  });
}

/** The send schedule of `settings`: ramp, hold, and the spike when it has one. */
export function messageSchedule(settings: ScenarioSettings): RateStep[] {
  return rampHoldSpike({
    perSec: settings.sendRate,
    rampMs: settings.rampSec * 1000,
    holdMs: settings.holdSec * 1000,
    spikePerSec: settings.spikeRate,
    spikeMs: settings.spikeSec * 1000,
  });
}
