import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { seedConversationScenario } from '@ccs/fixtures';
import type { ChangeEvent } from '@ccs/protocol';
import { TestClient } from '@ccs/test-clients';
import { TEST_SERVER_JWT_SECRET } from '@ccs/test-server';
import { describe, expect, it, onTestFinished } from 'vitest';
import { startServiceTracing, TRACE_EXPORT_BATCH_SIZE } from '../src/tracing.js';
import { test } from './server-fixtures.js';

/** An OTLP/HTTP endpoint of the test's own: what the server posts to it. */
async function otlpReceiver() {
  const posts: { readonly url: string; readonly headers: IncomingHttpHeaders; body: string }[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      posts.push({
        url: request.url ?? '',
        headers: request.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`, posts };
}

describe('tracing (CCS_OTLP_ENDPOINT)', () => {
  test("exports a change's write, emit and device ack over OTLP/HTTP, and flushes on close", async ({
    database,
    startServer,
  }) => {
    const receiver = await otlpReceiver();
    const server = await startServer({
      CCS_OTLP_ENDPOINT: receiver.url,
      CCS_OTLP_SAMPLE_RATIO: '1',
    });
    const scenario = await seedConversationScenario(database.db, {
      jwtSecret: TEST_SERVER_JWT_SECRET,
    });
    const [alice, bob] = scenario.users;
    const laptop = await TestClient.connect({ url: server.url, token: alice!.devices[0]!.token });
    onTestFinished(() => laptop.close());
    const phone = await TestClient.connect({ url: server.url, token: bob!.devices[0]!.token });
    onTestFinished(() => phone.close());
    expect(await laptop.emitWithAck('subscribe', { stream: scenario.stream })).toMatchObject({
      ok: true,
    });
    const sent = await phone.emitWithAck('message:send', {
      conversationId: scenario.conversation.id,
      clientId: randomUUID(),
      body: 'traced',
    });
    if (!sent.ok) throw new Error(sent.error.message);
    await laptop.waitFor('change', { predicate: (change: ChangeEvent) => change.seq === sent.seq });
    expect(
      await laptop.emitWithAck('changes:received', { streams: { [scenario.stream]: sent.seq } }),
    ).toEqual({ ok: true });

    await server.close();
    const exported = receiver.posts.map((post) => post.body).join('\n');
    expect(receiver.posts.every((post) => post.url === '/v1/traces')).toBe(true);
    for (const name of ['ccs.write', 'ccs.relay.read', 'ccs.emit', 'ccs.device_ack']) {
      expect(exported).toContain(`"${name}"`);
    }
    expect(exported).toContain('ccs-sync-server');
    expect(exported).toContain(scenario.stream);
  });
});

describe('startServiceTracing', () => {
  it('exports in small batches (a batch is serialised in one go on the event loop), and counts what it ended and exported', async () => {
    const receiver = await otlpReceiver();
    const tracing = startServiceTracing(receiver.url);
    const spans = 2 * TRACE_EXPORT_BATCH_SIZE + 3;
    for (let i = 0; i < spans; i++) tracing.tracer.startSpan(`span ${i}`).end();
    expect(tracing.counts().spansEnded).toBe(spans);
    await tracing.close();
    expect(tracing.counts()).toEqual({ spansEnded: spans, spansExported: spans });
    const perPost = receiver.posts.map((post) => post.body.match(/"spanId"/g)?.length ?? 0);
    expect(perPost.reduce((sum, count) => sum + count, 0)).toBe(spans);
    expect(Math.max(...perPost)).toBe(TRACE_EXPORT_BATCH_SIZE);
  });
});
