import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startScriptedServer, stream, type ScriptedServer } from '../test/scripted-server.js';
import { TestClient } from './test-client.js';
import './vitest.js';

let server: ScriptedServer;
let client: TestClient;

beforeEach(async () => {
  server = await startScriptedServer();
  client = await TestClient.connect({ url: server.url, token: 'good', name: 'bob' });
});

afterEach(async () => {
  client.close();
  await server.close();
});

describe('toReceiveEvent', () => {
  it('passes once a matching event arrives', async () => {
    await client.emitWithAck('subscribe', { stream });
    await expect(client).toReceiveEvent('change', { predicate: (c) => c.seq === 3 });
  });

  it('fails with the events that did arrive', async () => {
    await client.emitWithAck('subscribe', { stream });
    await client.waitForCount('change', 3);
    await expect(
      expect(client).toReceiveEvent('change', { predicate: (c) => c.seq === 99, timeout: 100 }),
    ).rejects.toThrow(
      /^expected bob to receive "change" matching the predicate: no matching "change" within 100 ms \(bob, state connected\); last events received:\n {2}ack subscribe \{"ok":true,"head":3\}\n {2}change \{.*"seq":1/,
    );
  });

  it('passes .not when nothing arrives in time', async () => {
    await expect(client).not.toReceiveEvent('change', { timeout: 100 });
  });

  it('fails .not with the event that arrived', async () => {
    await client.emitWithAck('subscribe', { stream });
    await expect(expect(client).not.toReceiveEvent('change', { timeout: 1000 })).rejects.toThrow(
      /^expected bob not to receive "change", but it received change \{.*"seq":1/,
    );
  });
});

describe('toHaveReceivedEvent', () => {
  it('passes when the history has a matching event', async () => {
    await client.emitWithAck('subscribe', { stream });
    await client.waitForCount('change', 3);
    expect(client).toHaveReceivedEvent('change');
    expect(client).toHaveReceivedEvent('change', (c) => c.seq === 2);
    expect(client).not.toHaveReceivedEvent('change', (c) => c.seq === 4);
  });

  it('fails with what the history holds', async () => {
    await client.emitWithAck('subscribe', { stream });
    await client.waitForCount('change', 3);
    expect(() => expect(client).toHaveReceivedEvent('change', (c) => c.seq === 4)).toThrow(
      /^expected bob to have received "change" matching the predicate; last events received:\n.*"seq":3/s,
    );
    expect(() => expect(client).toHaveReceivedEvent('resync_required')).toThrow(
      'expected bob to have received "resync_required"; ',
    );
  });

  it('fails .not with how many arrived and the first', async () => {
    await client.emitWithAck('subscribe', { stream });
    await client.waitForCount('change', 3);
    expect(() => expect(client).not.toHaveReceivedEvent('change')).toThrow(
      /^expected bob not to have received "change", but it received 3, the first: change \{.*"seq":1/,
    );
  });

  it('refuses a value that is not a TestClient', () => {
    expect(() => expect({}).toHaveReceivedEvent('change')).toThrow(
      'toHaveReceivedEvent expects a TestClient, got [object Object]',
    );
  });
});
