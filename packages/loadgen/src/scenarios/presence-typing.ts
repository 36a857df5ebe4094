import { setTimeout as sleep } from 'node:timers/promises';
import { connectAndSubscribe, messageSchedule, type Scenario } from './scenario.js';

/**
 * Ephemeral load on top of messages: typing updates relayed to the other members, and presence
 * changing as a tenth of the devices drop and come back. CCS shares presence through Redis, as
 * a deployment of several gateways does.
 */
export const presenceTyping: Scenario = {
  name: 'presence-typing',
  description:
    'Conversations of 10 devices: typing updates at a fixed rate and messages at a lower one, ' +
    'while 10% of the devices drop and reconnect (presence goes offline and online); CCS keeps ' +
    'presence in Redis.',
  targets: ['ccs', 'bare'],
  redisPresence: true,
  defaults: { sendRate: 50, rampSec: 0, holdSec: 10, typingRate: 300, fraction: 0.1 },
  async drive(run) {
    const { session, settings } = run;
    await connectAndSubscribe(run);
    const messages = session.send(messageSchedule(settings), settings.payloadBytes);
    const typing = session.typing(settings.typingRate, settings.holdSec * 1000);
    await sleep((settings.holdSec * 1000) / 2);
    await session.drop(settings.fraction);
    await Promise.all([messages, typing]);
    await session.awaitResumed(30_000);
    await session.drain();
  },
};
