import { randomUUID } from 'node:crypto';
import { TestClient } from '@ccs/test-clients';
import { describe, expect } from 'vitest';
import { TEST_SERVER_JWT_SECRET } from '@ccs/test-server';
import { test } from './server-fixtures.js';
import { createTokenCli } from '../src/token-command.js';

describe('ccs-token', () => {
  test('ccs-token makes the user and device when asked, and its token connects', async ({
    server,
    database,
  }) => {
    const [user, device] = [randomUUID(), randomUUID()];
    const lines: string[] = [];
    const env = { DATABASE_URL: database.url, CCS_JWT_SECRET: TEST_SERVER_JWT_SECRET };
    const run = (...args: string[]) =>
      createTokenCli((line) => lines.push(line), env).parseAsync(['node', 'ccs-token', ...args]);

    await expect(run('--user', user, '--device', device)).rejects.toThrow(/no user/);
    await run('--user', user, '--device', device, '--create', '--json');
    const minted = JSON.parse(lines.at(-1)!) as { token: string; userId: string };
    expect(minted.userId).toBe(user);
    const client = await TestClient.connect({ url: server.url, token: minted.token });
    expect(await client.emitWithAck('subscribe', { stream: `user:${user}` })).toMatchObject({
      ok: true,
    });
    client.close();

    // The pair exists now: a second token needs no --create; a lifetime over the maximum is refused.
    await run('--user', user, '--device', device);
    expect(lines.at(-1)).toMatch(/^ey/);
    await expect(run('--user', user, '--device', device, '--expires-in', '90d')).rejects.toThrow(
      /lifetime/,
    );
    await expect(
      createTokenCli(() => undefined, {
        ...env,
        NODE_ENV: 'production',
        CCS_JWT_SECRET: 'x'.repeat(32),
      }).parseAsync(['node', 'ccs-token', '--user', user, '--device', device]),
    ).rejects.toThrow(/production/);
  });
});
