// Child process: one device floods `message:send` as fast as it can, pipelined (up to `window`
// sends without their ack), never backing off on `rate_limited`, and connects again at once
// whenever the server drops it or refuses its handshake. Reports its acks by outcome.
import {
  EVENTS,
  type Ack,
  type ClientToServerEvents,
  type MessageSendResult,
  type ServerToClientEvents,
} from '@ccs/protocol';
import { io, type Socket } from 'socket.io-client';
import { childChannel } from './bench-child.js';
import { processCores } from './cpu.js';
import type { FloodConfig, FloodResult } from './ipc.js';

const channel = childChannel<FloodConfig>();
const { config } = channel;

const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io(config.url, {
  transports: ['websocket'],
  auth: { token: config.token },
  reconnection: false,
  forceNew: true,
  timeout: 10_000,
});
let disconnectReason: string | null = null;
let sessionEnded: string | null = null;
let disconnects = 0;
let connectsRefused = 0;
socket.on(EVENTS.sessionEnded, (event) => (sessionEnded = event.reason));
socket.on('disconnect', (reason) => {
  disconnectReason = reason;
  disconnects++;
  // The sends of the dropped socket will never be answered.
  lostWithSocket += sent - answered;
  answered = sent;
  if (stoppedBy === undefined) socket.connect();
});
socket.on('connect', () => {
  if (startedAt > 0 && stoppedBy === undefined) topUp();
});

let sent = 0;
let answered = 0;
let lostWithSocket = 0;
let ok = 0;
let rateLimited = 0;
const other: Record<string, number> = {};
let stoppedBy: FloodResult['stoppedBy'] | undefined;
let startedAt = 0;
let cpuAtStart = process.cpuUsage();
let lastSendAt = 0;
let deadline: NodeJS.Timeout | undefined;
let toppingUp = false;
const body = 'f'.repeat(config.bodyChars);

const onAck = (ack: Ack<MessageSendResult>): void => {
  answered++;
  if (ack.ok) ok++;
  else if (ack.error.code === 'rate_limited') rateLimited++;
  else other[ack.error.code] = (other[ack.error.code] ?? 0) + 1;
  if (stoppedBy === undefined && !toppingUp) {
    toppingUp = true;
    setImmediate(topUp);
  }
};

/** Emits until `window` sends wait for their ack (or a limit is reached). */
function topUp(): void {
  toppingUp = false;
  if (stoppedBy !== undefined) return;
  while (socket.connected && sent - answered < config.window) {
    if (sent >= config.maxSends) return finish('maxSends');
    socket.emit(
      EVENTS.messageSend,
      { conversationId: config.conversationId, clientId: `flood-${sent}`, body },
      onAck,
    );
    sent++;
  }
  lastSendAt = performance.now();
}

function finish(reason: FloodResult['stoppedBy']): void {
  if (stoppedBy !== undefined) return;
  stoppedBy = reason;
  lastSendAt = lastSendAt || performance.now();
  clearTimeout(deadline);
  void report();
}

async function report(): Promise<void> {
  const drainUntil = performance.now() + config.drainMs;
  while (answered < sent && socket.connected && performance.now() < drainUntil) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const floodMs = Math.max(1, lastSendAt - startedAt);
  const result: FloodResult = {
    sent,
    acks: { ok, rateLimited, other, unanswered: sent - answered + lostWithSocket },
    floodMs: Math.round(floodMs),
    sendsPerSec: Math.round((sent / floodMs) * 1000),
    acksPerSec: Math.round((answered / Math.max(1, performance.now() - startedAt)) * 1000),
    stoppedBy: stoppedBy ?? 'told',
    disconnectReason,
    sessionEnded,
    disconnects,
    connectsRefused,
    cpuCores: processCores(cpuAtStart, performance.now() - startedAt),
  };
  await channel.post({ kind: 'flood-result', result });
  socket.disconnect();
  process.exit(0);
}

socket.once('connect', () => void channel.post({ kind: 'ready', connected: 1, errors: [] }));
socket.on('connect_error', (error) => {
  if (startedAt > 0) {
    // Refused (e.g. rate_limited): try again at once, as an attacker does.
    connectsRefused++;
    if (stoppedBy === undefined) setImmediate(() => socket.connect());
    return;
  }
  void channel
    .post({ kind: 'failed', message: `flooder could not connect: ${error.message}` })
    .then(() => process.exit(1));
});
channel.onMessage((message) => {
  if (message.kind === 'go') {
    startedAt = performance.now();
    cpuAtStart = process.cpuUsage();
    deadline = setTimeout(() => finish('maxMs'), config.maxMs);
    topUp();
  } else if (message.kind === 'stop') {
    finish('told');
  }
});
