import { setTimeout as sleep } from 'node:timers/promises';
import { connectAndSubscribe, messageSchedule, type Scenario } from './scenario.js';

/**
 * Messages flow while half the clients lose their connection at once: they reconnect by
 * themselves and resume (CCS: subscribe with `since`; socket.io: connection state recovery).
 * Who lost messages shows in `delivery.lost`; how long it took in `resume`.
 */
export const reconnectStorm: Scenario = {
  name: 'reconnect-storm',
  description:
    'Clients subscribed to conversations of 5 single-device users; while messages flow, the ' +
    'transport of half of them is closed at once. They reconnect and resume; resume time runs ' +
    'from the drop until the client is live again with what it missed on its way.',
  targets: ['ccs', 'bare', 'postgres-adapter', 'redis-streams'],
  defaults: {
    conversations: 2_000,
    usersPerConversation: 5,
    devicesPerUser: 1,
    connectConcurrency: 200,
    sendRate: 100,
    rampSec: 0,
    holdSec: 12,
    fraction: 0.5,
  },
  async drive(run) {
    const { session, settings } = run;
    await connectAndSubscribe(run);
    const load = session.send(messageSchedule(settings), settings.payloadBytes);
    // A third of the way in: messages sent before, during and after the storm.
    await sleep((settings.holdSec * 1000) / 3);
    await session.drop(settings.fraction);
    await session.awaitResumed(60_000);
    await load;
    await session.drain();
  },
};
