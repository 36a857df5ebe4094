/**
 * A process holding a share of the simulated devices: one socket.io-client socket each
 * (websocket only, no reconnection: a disconnect makes the run invalid and is reported), each
 * subscribed to its conversation's stream. It tallies every change of every `changes` frame and,
 * when told to (`deviceAcks`), reports what each device received as `@ccs/client` does: at most
 * as often as the gateway asked in the subscribe answer.
 */
import {
  DEFAULT_RECEIVED_REPORT_MS,
  EVENTS,
  ReceivedReporter,
  type ChangesReceivedPayload,
  type ClientToServerEvents,
  type ServerToClientEvents,
  type StreamName,
} from '@ccs/protocol';
import { io, type Socket } from 'socket.io-client';
import { serveParentCalls } from '../ipc/parent-calls.js';
import { DeliveryTallies } from '../measure/delivery-tallies.js';
import { nowMicros } from '../measure/message-body.js';
import type { ClientDevice, ClientWorkerCalls } from './bench-ipc.js';

type BenchSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

const tallies = new DeliveryTallies();
let sockets: BenchSocket[] = [];
/** Sockets that only hold streams (see `subscribeMany`), by device token. */
const holders = new Map<string, BenchSocket>();
/** Sockets this process disconnected itself: their `disconnect` is not a failure. */
const closing = new WeakSet<BenchSocket>();
let nextClientIndex = 0;
let lastLoop = performance.eventLoopUtilization();
/** Whether devices report `changes:received` (the device-acks variant). */
let reporting = false;
/** At most how often the gateway asked each device to report (its subscribe answer). */
const askedReportMs = new WeakMap<BenchSocket, number>();
/** Each device's reporter, made at its first change while devices report. */
const reporters = new Map<BenchSocket, ReceivedReporter>();
const acks = { sent: 0 };

/** Sends `changes:received` as the SDK does: unanswered (no ack asked). */
function sendReceived(socket: BenchSocket, payload: ChangesReceivedPayload): void {
  if (!socket.connected) return;
  acks.sent++;
  socket.emit(EVENTS.changesReceived, payload);
}

function reporterOf(socket: BenchSocket): ReceivedReporter {
  let reporter = reporters.get(socket);
  if (!reporter) {
    reporter = new ReceivedReporter(
      askedReportMs.get(socket) ?? DEFAULT_RECEIVED_REPORT_MS,
      (payload) => sendReceived(socket, payload),
    );
    reporters.set(socket, reporter);
  }
  return reporter;
}

function stopReporting(): void {
  for (const reporter of reporters.values()) reporter.stop();
  reporters.clear();
}

/** Connects a socket; resolves with an error text instead of throwing. */
function openSocket(url: string, token: string): Promise<{ socket: BenchSocket; error?: string }> {
  const socket: BenchSocket = io(url, {
    transports: ['websocket'],
    auth: { token },
    forceNew: true,
    reconnection: false,
    timeout: 30_000,
  });
  return new Promise((resolve) => {
    socket.once('connect_error', (error) =>
      resolve({ socket, error: `connect: ${error.message}` }),
    );
    socket.once('connect', () => {
      socket.on('disconnect', () => {
        if (!closing.has(socket)) tallies.disconnects++;
      });
      resolve({ socket });
    });
  });
}

/** Subscribes `socket` to `stream`; resolves with an error text instead of throwing. */
function subscribe(socket: BenchSocket, stream: StreamName): Promise<string | undefined> {
  return socket
    .timeout(30_000)
    .emitWithAck(EVENTS.subscribe, { stream })
    .then(
      (ack) => {
        if (!ack.ok) return `subscribe: ${ack.error.code} ${ack.error.message}`;
        if (ack.receivedReportMs !== undefined) askedReportMs.set(socket, ack.receivedReportMs);
        return undefined;
      },
      (error: unknown) => `subscribe: ${String(error)}`,
    );
}

/** Connects one device and subscribes it to its stream. */
async function openDevice(url: string, device: ClientDevice): Promise<string | undefined> {
  const clientIndex = nextClientIndex++;
  const { socket, error } = await openSocket(url, device.token);
  sockets.push(socket);
  if (error) return error;
  socket.on(EVENTS.changes, (frame) => {
    const receivedAtMicros = nowMicros();
    for (const change of frame) tallies.record(clientIndex, change, receivedAtMicros);
    // A frame holds changes of one stream, in seq order.
    const last = frame[frame.length - 1];
    if (reporting && last) reporterOf(socket).received(last.stream, last.seq);
  });
  socket.on(EVENTS.resyncRequired, () => tallies.recordResync());
  return subscribe(socket, device.stream);
}

/** Runs `task` over `items` with at most `concurrency` in flight; collects the error texts. */
async function inLanes<T>(
  items: readonly T[],
  concurrency: number,
  task: (item: T) => Promise<string | undefined>,
): Promise<string[]> {
  const failures: string[] = [];
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const failure = await task(items[next++]!);
      if (failure) failures.push(failure);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  return failures;
}

serveParentCalls<ClientWorkerCalls>({
  async connect({ url, devices, concurrency }) {
    const failures = await inLanes(devices, concurrency, (device) => openDevice(url, device));
    return { connected: devices.length - failures.length, failures: failures.slice(0, 5) };
  },

  async subscribeMany({ url, token, streams, concurrency }) {
    let socket = holders.get(token);
    if (!socket) {
      const opened = await openSocket(url, token);
      if (opened.error) return { subscribed: 0, failures: [opened.error] };
      socket = opened.socket;
      holders.set(token, socket);
    }
    const holder = socket;
    const failures = await inLanes(streams, concurrency, (stream) => subscribe(holder, stream));
    return { subscribed: streams.length - failures.length, failures: failures.slice(0, 5) };
  },

  closeHolder({ token }) {
    const socket = holders.get(token);
    holders.delete(token);
    if (socket) {
      closing.add(socket);
      socket.disconnect();
    }
    return {};
  },

  deviceAcks({ report }) {
    stopReporting();
    reporting = report;
    return {};
  },

  takeAckCounts() {
    const counts = { ...acks };
    acks.sent = 0;
    return counts;
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
    stopReporting();
    for (const socket of [...sockets, ...holders.values()]) {
      closing.add(socket);
      socket.disconnect();
    }
    sockets = [];
    holders.clear();
    return {};
  },
});
