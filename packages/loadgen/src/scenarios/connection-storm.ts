import type { Scenario } from './scenario.js';

/**
 * As many devices as the server may hold connect as fast as they can, then subscribe: connects
 * per second, connect time, RSS per connection, subscribes per second and their latency.
 */
export const connectionStorm: Scenario = {
  name: 'connection-storm',
  description:
    'Every device connects at once (200 handshakes in flight), then each subscribes to its ' +
    'conversation at a fixed rate; RSS per connection is taken after a full GC with every socket open.',
  targets: ['ccs', 'bare'],
  defaults: {
    conversations: 2_000,
    usersPerConversation: 5,
    devicesPerUser: 1,
    connectConcurrency: 200,
  },
  async drive({ session, devices, settings }) {
    await session.markBaseline();
    await session.open({
      devices,
      connectsPerSec: settings.connectRate,
      concurrency: settings.connectConcurrency,
      subscribe: false,
    });
    await session.measureRssPerConnection();
    await session.subscribeAll(settings.subscribeRate);
  },
};
