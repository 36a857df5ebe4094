import { randomUUID } from 'node:crypto';
import { seedConversationScenario } from '@ccs/fixtures';
import { restCall, TestClient } from '@ccs/test-clients';
import { TEST_SERVER_JWT_SECRET } from '@ccs/test-server';
import { describe, expect, onTestFinished } from 'vitest';
import { test } from './server-fixtures.js';

/** One sample of a `/metrics` scrape, e.g. `ccs_rate_limited_total{scope="rest"}`; 0 when absent. */
function sample(scrape: string, series: string): number {
  const line = scrape.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

describe('/metrics after a scripted scenario', () => {
  test('counts a resume, a resync, and rate limits of socket events, handshakes and REST', async ({
    startServer,
    database,
  }) => {
    const server = await startServer({
      CCS_SEND_BURST: '2',
      CCS_SENDS_PER_SECOND: '0.1',
      CCS_CONNECT_BURST: '2',
      CCS_CONNECTS_PER_SECOND: '0.1',
      CCS_REST_REQUEST_BURST: '2',
      CCS_REST_REQUESTS_PER_SECOND: '0.1',
    });
    const scenario = await seedConversationScenario(database.db, {
      jwtSecret: TEST_SERVER_JWT_SECRET,
      devicesPerUser: [1, 1],
    });
    const [alice, bob] = scenario.users.map(({ devices }) => devices[0]!);
    const open: TestClient[] = [];
    onTestFinished(() => {
      for (const client of open) client.close();
    });
    const connect = async (token: string): Promise<TestClient> => {
      const client = await TestClient.connect({ url: server.url, token });
      open.push(client);
      return client;
    };
    const laptop = await connect(alice!.token);
    const phone = await connect(bob!.token);

    // A resume from the log, and one the server cannot serve.
    expect(
      await laptop.emitWithAck('subscribe', { stream: scenario.stream, since: 0 }),
    ).toMatchObject({ ok: true });
    expect(
      await phone.emitWithAck('subscribe', { stream: scenario.stream, since: 1_000_000 }),
    ).toMatchObject({ ok: false, error: { code: 'conflict' } });

    // Three sends on a burst of two.
    const sends = [];
    for (let i = 0; i < 3; i++) {
      sends.push(
        await laptop.emitWithAck('message:send', {
          conversationId: scenario.conversation.id,
          clientId: randomUUID(),
          body: `m${i}`,
        }),
      );
    }
    expect(sends.map((ack) => ack.ok)).toEqual([true, true, false]);

    // Handshakes of Bob's device on a burst of two (the first connect spent one).
    await connect(bob!.token);
    await expect(connect(bob!.token)).rejects.toThrow();

    // REST reads of Bob's device on a burst of two.
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      statuses.push(
        (
          await restCall(server.url, 'GET', `/v1/streams/${scenario.stream}/snapshot`, {
            token: bob!.token,
          })
        ).status,
      );
    }
    expect(statuses).toEqual([200, 200, 429]);

    const scrape = String((await restCall(server.url, 'GET', '/metrics')).body);
    expect(sample(scrape, 'ccs_resumes_total{outcome="replayed",reason="none"}')).toBe(1);
    expect(sample(scrape, 'ccs_resumes_total{outcome="resync",reason="since_ahead_of_head"}')).toBe(
      1,
    );
    expect(sample(scrape, 'ccs_rate_limited_total{scope="socket"}')).toBe(1);
    expect(sample(scrape, 'ccs_rate_limited_total{scope="handshake"}')).toBe(1);
    expect(sample(scrape, 'ccs_rate_limited_total{scope="rest"}')).toBe(1);
    expect(sample(scrape, 'ccs_subscriptions')).toBe(1);
    expect(sample(scrape, 'ccs_connected_sockets')).toBe(3);
  });
});
