import { PassThrough } from 'node:stream';
import { describe, expect } from 'vitest';
import { runLiveDemo } from '../src/demo/live-demo.js';
import { TEST_SERVER_JWT_SECRET } from '@ccs/test-server';
import { test } from './server-fixtures.js';

describe('the live demo (npm start)', () => {
  test('three SDK devices: every message sent by one is shown arriving on the other two', async ({
    server,
    database,
  }) => {
    const out = new PassThrough();
    const lines: string[] = [];
    out.on('data', (chunk: Buffer) => lines.push(...chunk.toString('utf8').split('\n')));
    await runLiveDemo({
      url: server.url,
      db: database.db,
      jwtSecret: TEST_SERVER_JWT_SECRET,
      messages: 2,
      out,
    });

    const sent = lines.filter((line) =>
      / ─ "hello #\d+ from .+" ─ committed as seq \d+/.test(line),
    );
    expect(sent).toHaveLength(2);
    const arrivals = lines.filter((line) => /▶ .+ got seq \d+ after [\d.]+ ms/.test(line));
    expect(arrivals).toHaveLength(4);
    // Each arrival names the seq its message was committed as.
    for (const [index, line] of sent.entries()) {
      const seq = /committed as seq (\d+)/.exec(line)![1];
      expect(
        arrivals.slice(index * 2, index * 2 + 2).every((a) => a.includes(`got seq ${seq} `)),
      ).toBe(true);
    }
    expect(lines.some((line) => line.includes('demo done'))).toBe(true);
  });
});
