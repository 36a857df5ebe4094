/**
 * A process holding a share of the simulated devices: one socket.io-client socket each
 * (websocket only, no reconnection: a disconnect makes the run invalid and is reported), each
 * subscribed to its conversation's stream. It tallies every `change` it receives.
 */
import { EVENTS, type ClientToServerEvents, type ServerToClientEvents } from '@ccs/protocol';
import { io, type Socket } from 'socket.io-client';
import type { ClientDevice, ClientWorkerCalls } from './bench-ipc.js';
import { DeliveryTallies } from './delivery-tallies.js';
import { nowMicros } from './message-body.js';
import { serveParentCalls } from './parent-calls.js';

type BenchSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

const tallies = new DeliveryTallies();
const sockets: BenchSocket[] = [];
let closing = false;
let lastLoop = performance.eventLoopUtilization();

/** Connects one device and subscribes it; resolves with an error text instead of throwing. */
function openDevice(url: string, device: ClientDevice): Promise<string | undefined> {
  const clientIndex = sockets.length;
  const socket: BenchSocket = io(url, {
    transports: ['websocket'],
    auth: { token: device.token },
    forceNew: true,
    reconnection: false,
    timeout: 30_000,
  });
  sockets.push(socket);
  socket.on(EVENTS.change, (change) => tallies.record(clientIndex, change, nowMicros()));
  return new Promise((resolve) => {
    socket.once('connect_error', (error) => resolve(`connect: ${error.message}`));
    socket.once('connect', () => {
      socket.on('disconnect', () => {
        if (!closing) tallies.disconnects++;
      });
      socket
        .timeout(30_000)
        .emitWithAck(EVENTS.subscribe, { stream: device.stream })
        .then(
          (ack) =>
            resolve(ack.ok ? undefined : `subscribe: ${ack.error.code} ${ack.error.message}`),
          (error: unknown) => resolve(`subscribe: ${String(error)}`),
        );
    });
  });
}

serveParentCalls<ClientWorkerCalls>({
  async connect({ url, devices, concurrency }) {
    const failures: string[] = [];
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < devices.length) {
        const failure = await openDevice(url, devices[next++]!);
        if (failure) failures.push(failure);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, lane));
    return { connected: devices.length - failures.length, failures: failures.slice(0, 5) };
  },

  progress: ({ phase }) => tallies.progress(phase),

  tally: ({ phase }) => tallies.report(phase),

  loopUsage() {
    const now = performance.eventLoopUtilization();
    const usage = performance.eventLoopUtilization(now, lastLoop).utilization;
    lastLoop = now;
    return usage;
  },

  close() {
    closing = true;
    for (const socket of sockets) socket.disconnect();
    return {};
  },
});
