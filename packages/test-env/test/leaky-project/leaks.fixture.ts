// Run only by open-handles-reporter.test.ts: a test file that forgets to close what it opened.
import { createServer } from 'node:net';
import { expect, test } from 'vitest';

test('opens a server and a timer and closes neither', async () => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  setInterval(() => undefined, 60_000);
  expect(server.listening).toBe(true);
});
