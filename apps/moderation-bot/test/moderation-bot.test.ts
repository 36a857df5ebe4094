// How a team next to CCS tests its own feature with CCS's toolkit only: a database and a Redis
// namespace of the test's own (test-env), seeded users and devices (fixtures), the real
// sync-server as a process, and socket.io devices that wait for what they should see
// (test-clients).
import { seedConversationScenario } from '@ccs/fixtures';
import { changeFeedQueueName } from '@ccs/jobs';
import { TestClient } from '@ccs/test-clients';
import '@ccs/test-clients/vitest';
import { waitForChangeDispatcher } from '@ccs/test-server';
import { test } from '@ccs/test-server/vitest';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { describe, expect, vi } from 'vitest';
import { startModerationBot } from '../src/moderation-bot.js';

const feed = 'moderation';

describe('startModerationBot', () => {
  test('removes a new message with a banned word, and every device sees it go', async ({
    database,
    redisNamespace,
    testEnv,
    startSyncServer,
  }) => {
    const syncServer = await startSyncServer({
      env: { CCS_CHANGE_FEEDS: `${feed}=conversation:*` },
    });
    const scenario = await seedConversationScenario(database.db, {
      jwtSecret: syncServer.jwtSecret,
    });
    const [alice, bob] = scenario.users;
    // The feed starts from the moment the worker's change dispatcher first runs.
    await waitForChangeDispatcher(database);
    const connection = new Redis(testEnv.redisUrl, { maxRetriesPerRequest: null });
    const bot = startModerationBot({
      db: database.db,
      connection,
      prefix: redisNamespace.prefix,
      feed,
      bannedWords: ['spam'],
    });
    const aliceLaptop = await TestClient.connect({
      url: syncServer.url,
      token: alice!.devices[0]!.token,
      name: 'alice-laptop',
    });
    const bobPhone = await TestClient.connect({
      url: syncServer.url,
      token: bob!.devices[0]!.token,
      name: 'bob-phone',
    });
    const queue = new Queue(changeFeedQueueName(feed), {
      connection,
      prefix: redisNamespace.prefix,
    });
    try {
      expect(await bobPhone.emitWithAck('subscribe', { stream: scenario.stream })).toMatchObject({
        ok: true,
      });
      const send = async (clientId: string, body: string) => {
        const ack = await aliceLaptop.emitWithAck('message:send', {
          conversationId: scenario.conversation.id,
          clientId,
          body,
        });
        if (!ack.ok) throw new Error(`send refused: ${ack.error.code} ${ack.error.message}`);
        return ack;
      };
      const clean = await send('clean', 'see you at lunch');
      const rude = await send('rude', 'this is SPAM, buy now');

      const [deleted] = await bobPhone.waitFor('change', {
        predicate: (change) => change.kind === 'message.deleted',
        timeout: 10_000,
      });
      expect(deleted).toMatchObject({ kind: 'message.deleted', data: { id: rude.id } });
      // The feed hands changes on in order and devices get them in seq order: had the clean
      // message been removed, bob would have seen it before the rude one's removal.
      expect(bobPhone.received('change').map(([change]) => [change.kind, change.seq])).toEqual([
        ['message.created', clean.seq],
        ['message.created', rude.seq],
        ['message.deleted', rude.seq + 1],
      ]);
      const { rows } = await database.pool.query<{ id: string }>(
        'SELECT id FROM messages WHERE conversation_id = $1',
        [scenario.conversation.id],
      );
      expect(rows).toEqual([{ id: clean.id }]);

      // The feed hands a change on again after a crash: handling it twice must not fail.
      const [created] = bobPhone.received(
        'change',
        (change) => change.kind === 'message.created' && change.data.id === rude.id,
      )[0]!;
      const again = await queue.add(created.kind, created, { jobId: 'handled-twice' });
      await vi.waitFor(async () => expect(await again.getState()).toBe('completed'), {
        timeout: 10_000,
        interval: 50,
      });
      const removals = await database.pool.query(
        `SELECT seq FROM change_log WHERE stream = $1 AND kind = 'message.deleted'`,
        [scenario.stream],
      );
      expect(removals.rows).toEqual([{ seq: String(rude.seq + 1) }]);
    } finally {
      aliceLaptop.close();
      bobPhone.close();
      await bot.close();
      await queue.close();
      await connection.quit();
    }
  });
});
