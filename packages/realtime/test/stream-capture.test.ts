import { insertWorkspace, trimChangeLog } from '@ccs/db';
import { createDevice, createMessage } from '@ccs/fixtures';
import { streamName } from '@ccs/protocol';
import { describe, expect } from 'vitest';
import { devicesOf, test } from './gateway-fixtures.js';

describe('capture of every synced table', () => {
  test('delivers message edits and deletes as message.updated and message.deleted', async ({
    scenario,
    connect,
    database,
  }) => {
    const { aliceLaptop, bobPhone } = devicesOf(scenario);
    const bob = await connect(bobPhone.token);
    const ack = await bob.emitWithAck('subscribe', { stream: scenario.stream });
    const head = ack.ok ? ack.head : -1;
    const { message } = await createMessage(database.db, aliceLaptop, scenario.conversation.id);
    await database.pool.query(`UPDATE messages SET body = 'edited' WHERE id = $1`, [message.id]);
    // An update that changes nothing is not a change.
    await database.pool.query(`UPDATE messages SET body = body WHERE id = $1`, [message.id]);
    await database.pool.query(`DELETE FROM messages WHERE id = $1`, [message.id]);
    const changes = (await bob.waitForCount('change', 3)).map(([change]) => change);
    expect(changes.map((change) => [change.seq, change.kind])).toEqual([
      [head + 1, 'message.created'],
      [head + 2, 'message.updated'],
      [head + 3, 'message.deleted'],
    ]);
    expect(changes[1]).toMatchObject({ data: { id: message.id, body: 'edited' } });
    expect(changes[2]).toMatchObject({ data: { id: message.id, body: 'edited' } });
  });

  test("delivers a user's new device and new memberships on the user's own stream", async ({
    scenario,
    connect,
    database,
  }) => {
    const { bobPhone } = devicesOf(scenario);
    const bobUser = scenario.users[1]!.user;
    const bob = await connect(bobPhone.token);
    const stream = streamName('user', bobUser.id);
    expect(await bob.emitWithAck('subscribe', { stream })).toMatchObject({ ok: true });
    const tablet = await createDevice(database.db, bobUser, { name: 'tablet' });
    const workspace = await insertWorkspace(database.db, { name: 'acme' }, [bobUser.id]);
    const changes = (await bob.waitForCount('change', 2)).map(([change]) => change);
    expect(changes[0]).toMatchObject({
      stream,
      kind: 'device.created',
      data: { id: tablet.id, name: 'tablet', revokedAt: null },
    });
    expect(changes[1]).toMatchObject({
      stream,
      kind: 'workspace_member.created',
      data: { workspaceId: workspace.id, userId: bobUser.id, role: 'member' },
    });
  });

  test('lets members follow a workspace and its files; refuses non-members', async ({
    scenario,
    connect,
    database,
  }) => {
    const { aliceLaptop, bobPhone } = devicesOf(scenario);
    const aliceUser = scenario.users[0]!.user;
    const workspace = await insertWorkspace(database.db, { name: 'docs' }, [aliceUser.id]);
    const stream = streamName('workspace', workspace.id);
    const [alice, bob] = await Promise.all([connect(aliceLaptop.token), connect(bobPhone.token)]);
    expect(await bob.emitWithAck('subscribe', { stream })).toMatchObject({
      ok: false,
      error: { code: 'forbidden' },
    });
    const ack = await alice.emitWithAck('subscribe', { stream });
    expect(ack).toMatchObject({ ok: true, head: 2 });
    await database.pool.query(
      `INSERT INTO files (workspace_id, owner_id, name, size_bytes) VALUES ($1, $2, 'plan.pdf', 1024)`,
      [workspace.id, aliceUser.id],
    );
    const [change] = await alice.waitFor('change', { predicate: (c) => c.seq === 3 });
    expect(change).toMatchObject({
      kind: 'file.created',
      data: { workspaceId: workspace.id, conversationId: null, name: 'plan.pdf', sizeBytes: 1024 },
    });
  });
});

describe('retention', () => {
  test('asks a subscriber resuming from a trimmed seq to resync, naming the head', async ({
    scenario,
    connect,
    database,
  }) => {
    const { aliceLaptop, bobPhone } = devicesOf(scenario);
    for (let i = 0; i < 3; i++) {
      await createMessage(database.db, aliceLaptop, scenario.conversation.id);
    }
    // Everything committed so far falls out of retention.
    while ((await trimChangeLog(database.db, new Date(Date.now() + 1000), 100)) === 100);
    const bob = await connect(bobPhone.token);
    const stale = await bob.emitWithAck('subscribe', { stream: scenario.stream, since: 2 });
    expect(stale).toMatchObject({ ok: false, error: { code: 'conflict' } });
    const [resync] = await bob.waitFor('resync_required');
    expect(resync).toEqual({ stream: scenario.stream, reason: 'since_before_retention', head: 6 });
    // Resuming from the head still works: nothing after it was trimmed.
    expect(await bob.emitWithAck('subscribe', { stream: scenario.stream, since: 6 })).toEqual({
      ok: true,
      head: 6,
      receivedReportMs: expect.any(Number),
    });
    await createMessage(database.db, aliceLaptop, scenario.conversation.id, { body: 'fresh' });
    const [change] = await bob.waitFor('change');
    expect(change).toMatchObject({ seq: 7, data: { body: 'fresh' } });
  });
});
