// How a team next to CCS tests its own feature with CCS's toolkit only: a database of the test's
// own (test-env), seeded users and devices (fixtures), the real sync-server as a process, and
// socket.io devices that wait for what they should see (test-clients).
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { createMessage, seedConversationScenario } from '@ccs/fixtures';
import { TestClient } from '@ccs/test-clients';
import '@ccs/test-clients/vitest';
import { startServerProcess } from '@ccs/test-env';
import { test as base } from '@ccs/test-env/vitest';
import { describe, expect } from 'vitest';
import { removeBannedMessages } from '../src/moderation-bot.js';

const jwtSecret = 'moderation-bot-secret-0123456789';

const test = base.extend(
  'syncServer',
  async ({ database, redisNamespace, testEnv }, { onCleanup }) => {
    const server = await startServerProcess({
      entry: resolve(import.meta.dirname, '../../sync-server/dist/main.js'),
      env: {
        DATABASE_URL: database.url,
        REDIS_URL: testEnv.redisUrl,
        CCS_REDIS_PREFIX: redisNamespace.prefix,
        CCS_JWT_SECRET: jwtSecret,
        CCS_RETENTION_HOURS: '0',
      },
    });
    onCleanup(() => server.stop());
    return server;
  },
);

describe('removeBannedMessages', () => {
  test('removes only offending messages, and every device sees them go', async ({
    database,
    syncServer,
  }) => {
    const scenario = await seedConversationScenario(database.db, { jwtSecret });
    const [alice, bob] = scenario.users;
    const bobPhone = await TestClient.connect({
      url: syncServer.url,
      token: bob!.devices[0]!.token,
      name: `bob-${randomBytes(2).toString('hex')}`,
    });
    try {
      await bobPhone.emitWithAck('subscribe', { stream: scenario.stream });
      const laptop = alice!.devices[0]!;
      const clean = await createMessage(database.db, laptop, scenario.conversation.id, {
        body: 'see you at lunch',
      });
      const rude = await createMessage(database.db, laptop, scenario.conversation.id, {
        body: 'this is SPAM, buy now',
      });

      const removed = await removeBannedMessages(database.db, scenario.conversation.id, {
        bannedWords: ['spam'],
      });

      expect(removed).toEqual([rude.message.id]);
      await expect(bobPhone).toReceiveEvent('change', {
        predicate: (change) => change.kind === 'message.deleted',
      });
      expect(bobPhone).toHaveReceivedEvent(
        'change',
        (change) => change.kind === 'message.created' && change.data.id === clean.message.id,
      );
      expect(bobPhone).not.toHaveReceivedEvent(
        'change',
        (change) => change.kind === 'message.deleted' && change.data.id === clean.message.id,
      );
    } finally {
      bobPhone.close();
    }
  });

  test('removes nothing without banned words', async ({ database }) => {
    const scenario = await seedConversationScenario(database.db, {
      jwtSecret,
      devicesPerUser: [1],
    });
    await createMessage(database.db, scenario.users[0]!.devices[0]!, scenario.conversation.id);
    expect(
      await removeBannedMessages(database.db, scenario.conversation.id, { bannedWords: [] }),
    ).toEqual([]);
  });
});
