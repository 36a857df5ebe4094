import { rampHoldSpike } from '../measure/rate-schedule.js';
import type { Scenario } from './scenario.js';

/** Conversations of a few users with several devices each; every message reaches every device. */
export const chatFanout: Scenario = {
  name: 'chat-fanout',
  description:
    'Conversations of 5 users with 2 devices each; one device per conversation sends (ramp, hold, ' +
    'spike) and every device of every member receives each message.',
  targets: ['ccs', 'bare', 'postgres-adapter', 'redis-streams'],
  defaults: { spikeRate: 600, spikeSec: 3 },
  async drive({ session, devices, settings }) {
    await session.open({
      devices,
      connectsPerSec: settings.connectRate,
      concurrency: settings.connectConcurrency,
      subscribe: true,
    });
    await session.send(
      rampHoldSpike({
        perSec: settings.sendRate,
        rampMs: settings.rampSec * 1000,
        holdMs: settings.holdSec * 1000,
        spikePerSec: settings.spikeRate,
        spikeMs: settings.spikeSec * 1000,
      }),
      settings.payloadBytes,
    );
    await session.drain();
  },
};
