// Child process: sockets subscribed to one stream that either stop reading right after the
// subscribe ack (`pause`: slow consumers) or read everything (`read`: the baseline).
import { childChannel } from './bench-child.js';
import { processCores } from './cpu.js';
import type { CrowdConfig, CrowdSocketResult } from './ipc.js';
import { StallingClient } from '@ccs/test-clients';

const channel = childChannel<CrowdConfig>();
const { config } = channel;
const sockets: StallingClient[] = [];
const heads: (number | null)[] = [];
const errors: string[] = [];

async function join(token: string): Promise<void> {
  try {
    const socket = await StallingClient.connect(config.url, token, 15_000);
    sockets.push(socket);
    const ack = (await socket.emitWithAck('subscribe', { stream: config.stream }, 15_000)) as {
      ok?: boolean;
      head?: number;
      error?: { code: string };
    };
    if (!ack.ok) throw new Error(`subscribe refused: ${ack.error?.code ?? 'unknown'}`);
    heads[sockets.indexOf(socket)] = ack.head ?? null;
    if (config.mode === 'pause') socket.pause();
  } catch (error) {
    errors.push((error as Error).message);
  }
}

channel.onMessage((message) => {
  if (message.kind !== 'finish') return;
  const cpuCores = processCores(cpuAtReady, performance.now() - readyAt);
  for (const socket of sockets) socket.resume();
  setTimeout(() => {
    const results: CrowdSocketResult[] = sockets.map((socket, index) => ({
      subscribed: heads[index] !== undefined,
      head: heads[index] ?? null,
      changes: socket.changes,
      bytes: socket.bytes,
      lastSeq: socket.lastSeq,
      sessionEnded: socket.sessionEnded,
      resyncRequired: socket.resyncRequired,
      disconnectedByServer: socket.disconnectedByServer,
      closeCode: socket.closeCode,
    }));
    void channel.post({ kind: 'crowd-result', sockets: results, cpuCores }).then(() => {
      for (const socket of sockets) socket.close();
      process.exit(0);
    });
  }, config.finishReadMs);
});

await Promise.all(config.tokens.map((token) => join(token)));
const readyAt = performance.now();
const cpuAtReady = process.cpuUsage();
await channel.post({
  kind: 'ready',
  connected: heads.filter((h) => h !== undefined).length,
  errors,
});
