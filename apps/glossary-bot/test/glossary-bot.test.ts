// A second team next to CCS tests its feature with the toolkit only: the real sync-server as a
// process with a change feed (@ccs/test-server), seeded users and devices (@ccs/fixtures), and
// devices that send and wait for what they should see (@ccs/test-clients).
import { seedConversationScenario } from '@ccs/fixtures';
import { changeFeedQueueName } from '@ccs/jobs';
import { TestClient } from '@ccs/test-clients';
import { waitForChangeDispatcher } from '@ccs/test-server';
import { test } from '@ccs/test-server/vitest';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { describe, expect, vi } from 'vitest';
import { startGlossaryBot } from '../src/glossary-bot.js';

const feed = 'glossary';
const glossary = new Map([['Seq', 'the dense per-stream number of a change']]);

describe('startGlossaryBot', () => {
  test('answers !define in the conversations it is in, once, and every device sees the answer', async ({
    database,
    redisNamespace,
    testEnv,
    startSyncServer,
  }) => {
    const server = await startSyncServer({ env: { CCS_CHANGE_FEEDS: `${feed}=conversation:*` } });
    const jwtSecret = server.jwtSecret;
    // Alice, Bob and the bot's own user in one conversation; Alice and Carol in another.
    const withBot = await seedConversationScenario(database.db, {
      jwtSecret,
      devicesPerUser: [1, 1, 1],
    });
    const withoutBot = await seedConversationScenario(database.db, {
      jwtSecret,
      devicesPerUser: [1, 1],
    });
    const [alice, bob, botUser] = withBot.users;
    const bot = { userId: botUser!.user.id, deviceId: botUser!.devices[0]!.id };
    await waitForChangeDispatcher(database);
    const connection = new Redis(testEnv.redisUrl, { maxRetriesPerRequest: null });
    const glossaryBot = startGlossaryBot({
      db: database.db,
      connection,
      prefix: redisNamespace.prefix,
      feed,
      bot,
      glossary,
    });
    const queue = new Queue(changeFeedQueueName(feed), {
      connection,
      prefix: redisNamespace.prefix,
    });
    const aliceLaptop = await TestClient.connect({
      url: server.url,
      token: alice!.devices[0]!.token,
    });
    const bobPhone = await TestClient.connect({ url: server.url, token: bob!.devices[0]!.token });
    try {
      expect((await bobPhone.emitWithAck('subscribe', { stream: withBot.stream })).ok).toBe(true);
      const carol = withoutBot.users[0]!.devices[0]!;
      const carolLaptop = await TestClient.connect({ url: server.url, token: carol.token });
      // First where the bot is not a member: the feed runs in order, so by the time the bot has
      // answered in its own conversation, it has passed this one by.
      const ignored = await carolLaptop.emitWithAck('message:send', {
        conversationId: withoutBot.conversation.id,
        clientId: 'ignored',
        body: '!define seq',
      });
      carolLaptop.close();
      expect(ignored.ok).toBe(true);
      const asked = await aliceLaptop.emitWithAck('message:send', {
        conversationId: withBot.conversation.id,
        clientId: 'q1',
        body: '!define SEQ',
      });
      if (!asked.ok) throw new Error(asked.error.message);

      const [reply] = await bobPhone.waitFor('change', {
        predicate: (change) =>
          change.kind === 'message.created' && change.data.authorId === bot.userId,
        timeout: 10_000,
      });
      expect(reply).toMatchObject({
        stream: withBot.stream,
        seq: asked.seq + 1,
        data: { body: 'seq: the dense per-stream number of a change', deviceId: bot.deviceId },
      });
      const answers = async (conversationId: string) =>
        (
          await database.pool.query(
            'SELECT 1 FROM messages WHERE conversation_id = $1 AND author_id = $2',
            [conversationId, bot.userId],
          )
        ).rowCount;
      expect(await answers(withoutBot.conversation.id)).toBe(0);

      // The feed hands a change on again after a crash: the question is answered once.
      const [question] = bobPhone.received(
        'change',
        (change) => change.kind === 'message.created' && change.seq === asked.seq,
      )[0]!;
      const again = await queue.add(question.kind, question, { jobId: 'asked-twice' });
      await vi.waitFor(async () => expect(await again.getState()).toBe('completed'), {
        timeout: 10_000,
        interval: 50,
      });
      expect(await answers(withBot.conversation.id)).toBe(1);
    } finally {
      aliceLaptop.close();
      bobPhone.close();
      await glossaryBot.close();
      await queue.close();
      await connection.quit();
    }
  });
});
