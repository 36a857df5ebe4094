import type { Database } from '@ccs/db';
import {
  isChangeOf,
  type ChangesFrame,
  type ClientToServerEvents,
  type MessageSendResult,
  type ServerToClientEvents,
  type SubscribeResult,
  type Ack,
} from '@ccs/protocol';
import { io, type Socket } from 'socket.io-client';
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

type DemoSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/**
 * Plays the product in the terminal: three real socket.io devices of two users join one
 * conversation; each message sent from one device is shown arriving on the others, with the
 * send-to-receive latency and the commit-to-receive latency.
 */
export async function runLiveDemo(options: LiveDemoOptions): Promise<void> {
  const out = options.out ?? process.stdout;
  const print = (line: string): void => void out.write(`${line}\n`);
  const demo = await seedDemo(options.db, options.jwtSecret);
  const sockets = await Promise.all(
    demo.devices.map(
      (device) =>
        new Promise<{ label: string; socket: DemoSocket }>((resolve, reject) => {
          const socket: DemoSocket = io(options.url, {
            auth: { token: device.token },
            transports: ['websocket'],
          });
          socket.once('connect', () => resolve({ label: device.label, socket }));
          socket.once('connect_error', reject);
        }),
    ),
  );
  try {
    for (const { socket } of sockets) {
      const ack: Ack<SubscribeResult> = await socket.emitWithAck('subscribe', {
        stream: demo.stream,
      });
      if (!ack.ok) throw new Error(`subscribe failed: ${ack.error.message}`);
    }
    print('');
    print(`── live demo: ${sockets.length} devices in ${demo.stream} ──`);
    const count = options.messages ?? 3;
    for (let i = 0; i < count; i++) {
      const sender = sockets[i % sockets.length]!;
      const receivers = sockets.filter((entry) => entry !== sender);
      const body = `hello #${i + 1} from ${sender.label}`;
      const sentAt = performance.now();
      const arrivals = receivers.map(
        ({ label, socket }) =>
          new Promise<string>((resolve) => {
            const onChanges = (frame: ChangesFrame): void => {
              const change = frame.find(
                (candidate) => isChangeOf(candidate, 'message') && candidate.data.body === body,
              );
              if (!change) return;
              socket.off('changes', onChanges);
              const ms = performance.now() - sentAt;
              const commitMs = Date.now() - Date.parse(change.committedAt);
              resolve(
                `   ▶ ${label.padEnd(12)} got seq ${change.seq} after ${ms.toFixed(1)} ms (commit→receive ${commitMs} ms)`,
              );
            };
            socket.on('changes', onChanges);
          }),
      );
      const ack: Ack<MessageSendResult> = await sender.socket.emitWithAck('message:send', {
        conversationId: demo.conversationId,
        clientId: `demo-${Date.now()}-${i}`,
        body,
      });
      if (!ack.ok) throw new Error(`send failed: ${ack.error.message}`);
      print(
        `${sender.label.padEnd(12)} ─ "${body}" ─ committed as seq ${ack.seq} in ${(performance.now() - sentAt).toFixed(1)} ms`,
      );
      for (const line of await Promise.all(arrivals)) print(line);
      await new Promise((resolve) => setTimeout(resolve, 700));
    }
    print(`── demo done; the server keeps serving. Tokens for your own clients: ──`);
    for (const device of demo.devices) print(`   ${device.label.padEnd(12)} ${device.token}`);
    print('');
  } finally {
    for (const { socket } of sockets) socket.disconnect();
  }
}
