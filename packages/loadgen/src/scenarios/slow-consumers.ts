import { setTimeout as sleep } from 'node:timers/promises';
import { connectAndSubscribe, messageSchedule, type Scenario } from './scenario.js';

/**
 * Some clients stop reading their socket while large messages flow: the others must keep their
 * latency, the server its memory, and the stalled ones must get everything once they read again.
 */
export const slowConsumers: Scenario = {
  name: 'slow-consumers',
  description:
    'Large messages (16 KB, 40 a second per conversation) flow into conversations of 10 devices while 10% of the receiving clients stop ' +
    'reading their TCP socket for most of the run, then read again. CCS runs with a 512 KiB ' +
    'outbound buffer per socket: a stalled socket over it is cut and resumes when it reads again.',
  targets: ['ccs', 'bare', 'redis-streams'],
  defaults: {
    conversations: 5,
    usersPerConversation: 5,
    devicesPerUser: 2,
    sendRate: 200,
    rampSec: 1,
    holdSec: 20,
    payloadBytes: 16_000,
    fraction: 0.1,
  },
  gatewayLimits: { outboundBufferBytes: 512 * 1024 },
  async drive(run) {
    const { session, settings } = run;
    await connectAndSubscribe(run);
    const load = session.send(messageSchedule(settings), settings.payloadBytes);
    await sleep(settings.rampSec * 1000);
    const paused = await session.pause(settings.fraction);
    session.note(`${paused} clients stopped reading for ${settings.holdSec - 2} s`);
    await sleep((settings.holdSec - 2) * 1000);
    await session.unpause();
    await load;
    await session.awaitResumed(60_000);
    await session.drain(3_000);
  },
};
