import { createMessage } from '@ccs/fixtures';
import { describe, expect } from 'vitest';
import { devicesOf, test } from './gateway-fixtures.js';

describe('subscription lifecycle', () => {
  test('a subscriber that leaves while its resume is refused does not stop delivery to others', async ({
    scenario,
    connect,
    database,
  }) => {
    const { aliceLaptop, alicePhone, bobPhone } = devicesOf(scenario);
    const bob = await connect(bobPhone.token);
    await bob.emitWithAck('subscribe', { stream: scenario.stream });
    for (let round = 0; round < 5; round++) {
      const leaving = await connect(alicePhone.token);
      // A resume from the future is refused; the socket is gone before the refusal is computed.
      leaving.socket.emit('subscribe', { stream: scenario.stream, since: 1_000_000 }, () => {});
      leaving.close();
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    const { seq } = await createMessage(database.db, aliceLaptop, scenario.conversation.id);
    const [change] = await bob.waitFor('change', { predicate: (c) => c.seq === seq });
    expect(change.seq).toBe(seq);
  });

  test('a socket that unsubscribes while its replay runs gets nothing after the ack', async ({
    scenario,
    connect,
    database,
  }) => {
    const { aliceLaptop, bobPhone } = devicesOf(scenario);
    for (let i = 0; i < 50; i++) {
      await createMessage(database.db, aliceLaptop, scenario.conversation.id);
    }
    const bob = await connect(bobPhone.token);
    const subscribing = bob.emitWithAck('subscribe', { stream: scenario.stream, since: 0 });
    const unsubscribed = await bob.emitWithAck('unsubscribe', { stream: scenario.stream });
    expect(unsubscribed).toEqual({ ok: true });
    await subscribing;
    const before = bob.received('change').length;
    await createMessage(database.db, aliceLaptop, scenario.conversation.id, { body: 'later' });
    await bob.expectNoEvent('change', { within: 500 });
    expect(bob.received('change')).toHaveLength(before);
  });
});
