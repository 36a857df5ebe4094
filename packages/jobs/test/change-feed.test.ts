import type { ChangeEvent } from '@ccs/protocol';
import { createMessage, seedConversationScenario } from '@ccs/fixtures';
import { test } from '@ccs/test-env/vitest';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { ChangeDispatcher } from '../src/change-dispatcher.js';
import {
  ChangeFeedConfigError,
  consumeChangeFeed,
  parseChangeFeeds,
  publishChangeFeeds,
} from '../src/change-feed.js';
import { POLL } from './job-harness.js';

const jwtSecret = 'jobs-test-secret-0123456789';

describe('parseChangeFeeds', () => {
  it('reads names and stream patterns', () => {
    expect(parseChangeFeeds('')).toEqual([]);
    expect(
      parseChangeFeeds(
        ' moderation = conversation:* ; audit=workspace:*,user:0b6d4c1e-8a43-4d4e-9a3b-2f1d8c7e6a5b',
      ),
    ).toEqual([
      { name: 'moderation', streams: ['conversation:*'] },
      { name: 'audit', streams: ['workspace:*', 'user:0b6d4c1e-8a43-4d4e-9a3b-2f1d8c7e6a5b'] },
    ]);
    expect(parseChangeFeeds('all=*')).toEqual([{ name: 'all', streams: ['*'] }]);
  });

  it('refuses what it cannot read, saying what', () => {
    expect(() => parseChangeFeeds('bad name=conversation:*')).toThrow(ChangeFeedConfigError);
    expect(() => parseChangeFeeds('a=conversation:*;a=user:*')).toThrow(/defined twice/);
    expect(() => parseChangeFeeds('a=messages')).toThrow(/"messages" is not a stream name/);
    expect(() => parseChangeFeeds('a=')).toThrow(/is not a stream name/);
  });
});

describe('change feeds', () => {
  test("deliver their streams' changes once each, in order, across consumers, retrying in place", async ({
    database,
    testEnv,
    redisNamespace,
  }) => {
    const [watched, other] = await Promise.all([
      seedConversationScenario(database.db, { jwtSecret, devicesPerUser: [1, 1] }),
      seedConversationScenario(database.db, { jwtSecret, devicesPerUser: [1] }),
    ]);
    const connection = new Redis(testEnv.redisUrl, { maxRetriesPerRequest: null });
    const publisher = publishChangeFeeds({
      feeds: [{ name: 'audit', streams: [watched.stream] }],
      connection,
      prefix: redisNamespace.prefix,
    });
    await publisher.ready;
    const dispatcher = new ChangeDispatcher({
      db: database.db,
      name: 'feeds',
      idleMs: 10,
      sinks: [publisher.sink],
    });
    dispatcher.start();
    const handled: { consumer: number; change: ChangeEvent }[] = [];
    let failures = 0;
    const consumers = [1, 2].map((consumer) =>
      consumeChangeFeed({
        connection,
        prefix: redisNamespace.prefix,
        feed: 'audit',
        backoffMs: 20,
        handle: async (change) => {
          // The third change fails twice before it goes through: later ones must wait for it.
          if (handled.length === 2 && failures < 2) {
            failures++;
            throw new Error('moderation service unavailable');
          }
          handled.push({ consumer, change });
        },
      }),
    );
    try {
      await expect.poll(() => dispatcher.active, POLL).toBe(true);
      const sent = [];
      for (let i = 0; i < 20; i++) {
        const scenario = i % 2 === 0 ? watched : other;
        const device = scenario.users[i % 4 === 0 ? 0 : scenario.users.length - 1]!.devices[0]!;
        sent.push(createMessage(database.db, device, scenario.conversation.id));
      }
      const expected = (await Promise.all(sent))
        .filter((message) => message.stream === watched.stream)
        .map((message) => message.seq)
        .sort((a, b) => a - b);
      await expect.poll(() => handled.length === expected.length, POLL).toBe(true);

      expect(handled.map((entry) => entry.change.seq)).toEqual(expected);
      expect(handled.every((entry) => entry.change.stream === watched.stream)).toBe(true);
      expect(handled.every((entry) => entry.change.kind === 'message.created')).toBe(true);
      expect(failures).toBe(2);
      const [queue] = publisher.queues;
      expect(await queue!.getCompletedCount()).toBe(expected.length);
      expect(await queue!.getFailedCount()).toBe(0);
    } finally {
      await Promise.all(consumers.map((consumer) => consumer.close()));
      await dispatcher.close();
      await Promise.all(publisher.queues.map((queue) => queue.close()));
      connection.disconnect();
    }
  });
});
