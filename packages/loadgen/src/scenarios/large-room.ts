import { connectAndSubscribe, messageSchedule, type Scenario } from './scenario.js';

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
  async drive(run) {
    const { session, settings } = run;
    await connectAndSubscribe(run);
    await session.send(messageSchedule(settings), settings.payloadBytes);
    await session.drain();
  },
};
