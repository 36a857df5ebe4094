import { connectAndSubscribe, messageSchedule, type Scenario } from './scenario.js';

/** Conversations of a few users with several devices each; every message reaches every device. */
export const chatFanout: Scenario = {
  name: 'chat-fanout',
  description:
    'Conversations of 5 users with 2 devices each; one device per conversation sends (ramp, hold, ' +
    'spike) and every device of every member receives each message.',
  targets: ['ccs', 'bare', 'postgres-adapter', 'redis-streams'],
  defaults: { spikeRate: 600, spikeSec: 3 },
  async drive(run) {
    const { session, settings } = run;
    await connectAndSubscribe(run);
    await session.send(messageSchedule(settings), settings.payloadBytes);
    await session.drain();
  },
};
