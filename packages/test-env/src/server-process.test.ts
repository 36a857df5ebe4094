import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { httpProbeReadiness } from './readiness/http-probe.js';
import { logLineReadiness } from './readiness/log-line.js';
import { portOpenReadiness } from './readiness/port-open.js';
import { startServerProcess, type ServerProcessOptions } from './server-process.js';

const entry = resolve(import.meta.dirname, '../test/toy-server.mjs');

async function healthz(url: string): Promise<number> {
  const response = await fetch(`${url}/healthz`);
  await response.body?.cancel();
  return response.status;
}

describe('startServerProcess', () => {
  const strategies: [string, ServerProcessOptions['readiness']][] = [
    ['the listening log line (default)', undefined],
    [
      'a log line of its own',
      logLineReadiness((line) => (line.includes('"listening"') ? JSON.parse(line).url : undefined)),
    ],
    ['an HTTP probe', httpProbeReadiness('/healthz')],
    ['an open port', portOpenReadiness()],
  ];
  for (const [name, readiness] of strategies) {
    it(`is ready by ${name}, and stops`, async () => {
      const server = await startServerProcess({ entry, args: ['serve'], readiness });
      try {
        expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
        expect(await healthz(server.url)).toBe(200);
      } finally {
        await server.stop();
      }
      expect(server.child.exitCode).toBe(0);
    });
  }

  it('rejects with what the process printed when it exits before ready', async () => {
    await expect(
      startServerProcess({ entry, args: ['crash'], readiness: httpProbeReadiness() }),
    ).rejects.toThrow(
      /exited \(3\) before ready \(GET \/healthz answering 2xx\)[\s\S]*no database/,
    );
  });

  it('rejects after the start timeout, and kills the process', async () => {
    await expect(
      startServerProcess({ entry, args: ['silent'], startTimeoutMs: 300 }),
    ).rejects.toThrow(/not ready \(a "listening" log line with a url\) within 300 ms/);
  });
});
