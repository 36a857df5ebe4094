import { createClient, type CcsClient, type StreamSubscription } from '@ccs/client';
import type { Database } from '@ccs/db';
import { isChangeOf, type ChangeEvent } from '@ccs/protocol';
import { seedDemo } from './demo-seed.js';

export interface LiveDemoOptions {
  /** The running server's URL. */
  readonly url: string;
  readonly db: Database;
  readonly jwtSecret: string;
  /** Messages to send. @default 3 */
  readonly messages?: number;
  /** Where the demo prints. @default process.stdout */
  readonly out?: NodeJS.WritableStream;
}

/** A demo device: its SDK client and its subscription to the demo conversation. */
interface DemoDevice {
  readonly label: string;
  readonly client: CcsClient;
  readonly conversation: StreamSubscription;
}

/**
 * Plays the product in the terminal: three devices of two users (each a `@ccs/client`, as an
 * app would use it) join one conversation; each message sent from one device is shown arriving
 * on the others, with the send-to-receive latency and the commit-to-receive latency.
 */
export async function runLiveDemo(options: LiveDemoOptions): Promise<void> {
  const out = options.out ?? process.stdout;
  const print = (line: string): void => void out.write(`${line}\n`);
  const demo = await seedDemo(options.db, options.jwtSecret);
  const devices: DemoDevice[] = demo.devices.map((device) => {
    const client = createClient({ url: options.url, token: device.token });
    return { label: device.label, client, conversation: client.subscribe(demo.stream) };
  });
  try {
    await Promise.all(devices.map((device) => device.conversation.ready));
    print('');
    print(`── live demo: ${devices.length} devices in ${demo.stream} ──`);
    const count = options.messages ?? 3;
    for (let i = 0; i < count; i++) {
      const sender = devices[i % devices.length]!;
      const receivers = devices.filter((entry) => entry !== sender);
      const body = `hello #${i + 1} from ${sender.label}`;
      const sentAt = performance.now();
      const arrivals = receivers.map(
        ({ label, conversation }) =>
          new Promise<string>((resolve) => {
            const onChange = (change: ChangeEvent): void => {
              if (!isChangeOf(change, 'message') || change.data.body !== body) return;
              conversation.off('change', onChange);
              const ms = performance.now() - sentAt;
              resolve(
                `   ▶ ${label.padEnd(12)} got seq ${change.seq} after ${ms.toFixed(1)} ms (commit→receive ${conversation.lagMs ?? '?'} ms)`,
              );
            };
            conversation.on('change', onChange);
          }),
      );
      const sent = await sender.client.write('message:send', {
        conversationId: demo.conversationId,
        clientId: `demo-${Date.now()}-${i}`,
        body,
      });
      print(
        `${sender.label.padEnd(12)} ─ "${body}" ─ committed as seq ${sent.seq} in ${(performance.now() - sentAt).toFixed(1)} ms`,
      );
      for (const line of await Promise.all(arrivals)) print(line);
      await new Promise((resolve) => setTimeout(resolve, 700));
    }
    print(`── demo done; the server keeps serving. Tokens for your own clients: ──`);
    for (const device of demo.devices) print(`   ${device.label.padEnd(12)} ${device.token}`);
    print('');
  } finally {
    for (const { client } of devices) client.close();
  }
}
