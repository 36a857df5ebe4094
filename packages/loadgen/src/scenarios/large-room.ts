import { rampHoldSpike } from '../measure/rate-schedule.js';
import type { Scenario } from './scenario.js';

/** One conversation of 5,000 members: each message fans out to every one of them. */
export const largeRoom: Scenario = {
  name: 'large-room',
  description:
    'One conversation of 5,000 single-device members; 5 of them send, and every message is ' +
    'delivered to all 5,000.',
  targets: ['ccs', 'bare', 'postgres-adapter', 'redis-streams'],
  defaults: {
    conversations: 1,
    usersPerConversation: 5_000,
    devicesPerUser: 1,
    sendersPerConversation: 5,
    connectConcurrency: 200,
    sendRate: 4,
    rampSec: 0,
    holdSec: 10,
  },
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
      }),
      settings.payloadBytes,
    );
    await session.drain();
  },
};
