/**
 * A client process of `ccs-load`: it holds a share of the simulated devices, one socket.io-client
 * socket each (websocket transport), and does what the runner asks over IPC — connect at a
 * rate, subscribe, send at a scheduled rate, type, drop transports, stop reading — while it
 * tallies every change it receives by (socket, stream, seq). Client processes, not worker
 * threads: each process has its own open-file limit (20,000 here), and 50,000 sockets need three.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  EVENTS,
  type ChangeEvent,
  type ClientToServerEvents,
  type ServerToClientEvents,
} from '@ccs/protocol';
import { LatencyHistogram } from '@ccs/test-clients';
import { io, type Socket } from 'socket.io-client';
import { serveParentCalls } from '../ipc/parent-calls.js';
import { decodeBody, encodeBody, nowMicros } from '../measure/message-body.js';
import { scheduleDurationMs, scheduledCount } from '../measure/rate-schedule.js';
import type {
  ClientTally,
  LoadClientCalls,
  LoadDevice,
  OpenParams,
  OpenResult,
  ResumeStyle,
  SubscribeTally,
} from './load-client-calls.js';

type LoadSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/** Attempts of one send refused with `rate_limited` before it counts as refused. */
const MAX_SEND_TRIES = 10;

/** One device's socket and what it received of its stream. */
interface Client {
  readonly device: LoadDevice;
  readonly socket: LoadSocket;
  /** Set once the first subscribe is acked: the head then; changes above it are owed. */
  baseline: number | undefined;
  highest: number;
  received: number;
  /** Seqs below `highest` not received yet. */
  readonly missing: Set<number>;
  /** When the connection was lost (µs), until the client is live again. */
  droppedAt: number | undefined;
  /** When it was connected again (µs), until it is live. */
  reconnectedAt: number | undefined;
  paused: boolean;
  /** Stopped reading at some point of the run: its latencies are tallied apart. */
  stalled: boolean;
}

const clients: Client[] = [];
const tally = {
  heads: new Map<string, number>(),
  duplicated: 0,
  outOfOrder: 0,
  receive: LatencyHistogram.empty(),
  stalled: LatencyHistogram.empty(),
  commit: LatencyHistogram.empty(),
  timeline: new Map<number, LatencyHistogram>(),
  firstReceiveMicros: 0,
  lastReceiveMicros: 0,
  disconnects: new Map<string, number>(),
  reconnectErrors: new Map<string, number>(),
  /** Re-subscribes after a reconnect refused (tried again), by error code. */
  resubscribeRefusals: new Map<string, number>(),
  dropped: 0,
  resumed: 0,
  reconnect: LatencyHistogram.empty(),
  resume: LatencyHistogram.empty(),
  resyncs: 0,
  typing: 0,
  presence: 0,
};
let subscribeTally = emptySubscribeTally();
let loadStartMicros = 0;
let resumeStyle: ResumeStyle = 'resubscribe-since';
const cpuAtStart = process.cpuUsage();

function emptySubscribeTally(): {
  attempted: number;
  failed: number;
  failures: string[];
  histogram: LatencyHistogram;
  firstMicros: number;
  lastMicros: number;
} {
  return {
    attempted: 0,
    failed: 0,
    failures: [],
    histogram: LatencyHistogram.empty(),
    firstMicros: 0,
    lastMicros: 0,
  };
}

function count(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Counts one change received by `client`. */
function receive(client: Client, change: ChangeEvent, receivedAt: number): void {
  if (change.stream !== client.device.stream) return;
  const { seq } = change;
  tally.heads.set(change.stream, Math.max(tally.heads.get(change.stream) ?? 0, seq));
  if (client.baseline === undefined) return; // before the subscribe took effect
  if (seq > client.highest) {
    for (let gap = Math.max(client.highest, client.baseline) + 1; gap < seq; gap++) {
      client.missing.add(gap);
    }
    client.highest = seq;
  } else if (client.missing.delete(seq)) {
    tally.outOfOrder++;
  } else {
    tally.duplicated++;
    return;
  }
  client.received++;
  if (tally.firstReceiveMicros === 0) tally.firstReceiveMicros = receivedAt;
  tally.lastReceiveMicros = receivedAt;
  tally.commit.record(receivedAt - Date.parse(change.committedAt) * 1000);
  const data = change.data as { readonly body?: unknown };
  const stamp = typeof data.body === 'string' ? decodeBody(data.body) : undefined;
  if (!stamp) return;
  const latency = receivedAt - stamp.sentAtMicros;
  if (client.stalled) {
    tally.stalled.record(latency);
    return;
  }
  tally.receive.record(latency);
  const second = Math.max(0, Math.floor((stamp.sentAtMicros - loadStartMicros) / 1_000_000));
  let perSecond = tally.timeline.get(second);
  if (!perSecond) {
    perSecond = LatencyHistogram.empty();
    tally.timeline.set(second, perSecond);
  }
  perSecond.record(latency);
}

/** Subscribes `client` to its stream (from its highest seq once it had one); true when acked. */
async function subscribe(client: Client, record: boolean): Promise<boolean> {
  const started = nowMicros();
  if (record) {
    subscribeTally.attempted++;
    if (subscribeTally.firstMicros === 0) subscribeTally.firstMicros = started;
  }
  const since = client.baseline === undefined ? undefined : client.highest;
  try {
    const ack = await client.socket.timeout(30_000).emitWithAck(EVENTS.subscribe, {
      stream: client.device.stream,
      ...(since !== undefined && { since }),
    });
    if (!ack.ok) throw new Error(`${ack.error.code}: ${ack.error.message}`);
    if (client.baseline === undefined) {
      client.baseline = ack.head;
      client.highest = ack.head;
    }
    if (record) {
      const done = nowMicros();
      subscribeTally.histogram.record(done - started);
      subscribeTally.lastMicros = done;
    }
    return true;
  } catch (error) {
    if (record) {
      subscribeTally.failed++;
      if (subscribeTally.failures.length < 5) subscribeTally.failures.push(errorText(error));
    } else {
      count(tally.resubscribeRefusals, errorText(error).split(':')[0]!);
    }
    return false;
  }
}

/** The socket is live again after a drop: record how long it took. */
function resumed(client: Client): void {
  if (client.droppedAt === undefined) return;
  tally.resume.record(nowMicros() - (client.reconnectedAt ?? client.droppedAt));
  tally.resumed++;
  client.droppedAt = undefined;
  client.reconnectedAt = undefined;
}

/** After a reconnect: recovered by socket.io, or subscribe again from the last seq had. */
function onReconnect(client: Client): void {
  if (client.droppedAt !== undefined) {
    client.reconnectedAt = nowMicros();
    tally.reconnect.record(client.reconnectedAt - client.droppedAt);
  }
  if (resumeStyle === 'socketio-recovery' && client.socket.recovered) {
    resumed(client);
    return;
  }
  void (async () => {
    // Tried again while connected: a refusal (e.g. rate_limited in a storm) is not the end.
    while (client.socket.connected && !(await subscribe(client, false))) await sleep(100);
    if (client.socket.connected) resumed(client);
  })();
}

function openSocket(
  url: string,
  device: LoadDevice,
  localAddress: string | undefined,
): Promise<{ client: Client; error?: string }> {
  const socket: LoadSocket = io(url, {
    transports: ['websocket'],
    auth: { token: device.token },
    forceNew: true,
    // socket.io's own reconnection (1 s ± 50 %, then backing off): the same for every target.
    reconnection: true,
    timeout: 30_000,
    ...(localAddress && { localAddress }),
  });
  const client: Client = {
    device,
    socket,
    baseline: undefined,
    highest: 0,
    received: 0,
    missing: new Set(),
    droppedAt: undefined,
    reconnectedAt: undefined,
    paused: false,
    stalled: false,
  };
  socket.on(EVENTS.changes, (frame) => {
    const at = nowMicros();
    for (const change of frame) receive(client, change, at);
  });
  socket.on(EVENTS.resyncRequired, () => tally.resyncs++);
  socket.on(EVENTS.typing, () => tally.typing++);
  socket.on(EVENTS.presence, () => tally.presence++);
  socket.on('disconnect', (reason) => {
    if (reason !== 'io client disconnect') count(tally.disconnects, reason);
    // Not dropped on purpose (e.g. the server dropped a slow consumer): resume is timed from here.
    if (reason !== 'io client disconnect' && client.droppedAt === undefined) {
      client.droppedAt = nowMicros();
    }
    // socket.io does not reconnect after the server ended the session (e.g. a slow consumer
    // told to "reconnect and resume"); a device app would, so the client does.
    if (reason === 'io server disconnect') setTimeout(() => socket.connect(), 50);
  });
  return new Promise((resolve) => {
    socket.once('connect_error', (error) => {
      socket.disconnect();
      resolve({ client, error: `connect: ${error.message}` });
    });
    socket.once('connect', () => {
      socket.off('connect_error');
      socket.on('connect', () => onReconnect(client));
      // A reconnect attempt refused or failed: socket.io backs off and tries again.
      socket.on('connect_error', (error) => count(tally.reconnectErrors, error.message));
      socket.io.on('reconnect_error', (error) => count(tally.reconnectErrors, error.message));
      resolve({ client });
    });
  });
}

/** Runs `task` over `items`, at most `concurrency` at once, starting at most `perSec` a second. */
async function paced<T>(
  items: readonly T[],
  perSec: number,
  concurrency: number,
  task: (item: T, index: number) => Promise<void>,
): Promise<void> {
  const started = performance.now();
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      if (perSec > 0) {
        const dueAt = (index / perSec) * 1000;
        const wait = dueAt - (performance.now() - started);
        if (wait > 0) await sleep(wait);
      }
      await task(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, lane));
}

async function open(params: OpenParams): Promise<OpenResult> {
  resumeStyle = params.resume;
  const connectHistogram = LatencyHistogram.empty();
  const failures: string[] = [];
  let failed = 0;
  let firstAttemptMicros = 0;
  let lastConnectMicros = 0;
  const base = clients.length;
  await paced(params.devices, params.connectsPerSec, params.concurrency, async (device, index) => {
    const started = nowMicros();
    if (firstAttemptMicros === 0) firstAttemptMicros = started;
    const url = params.urls[(base + index) % params.urls.length]!;
    const localAddress = params.localAddresses[(base + index) % params.localAddresses.length];
    const { client, error } = await openSocket(url, device, localAddress);
    if (error) {
      failed++;
      if (failures.length < 5) failures.push(error);
      return;
    }
    const connected = nowMicros();
    connectHistogram.record(connected - started);
    lastConnectMicros = connected;
    clients.push(client);
    if (params.subscribe) await subscribe(client, true);
  });
  return {
    attempted: params.devices.length,
    succeeded: params.devices.length - failed,
    failed,
    failures,
    connectHistogram: connectHistogram.encode(),
    firstAttemptMicros,
    lastConnectMicros,
    subscribes: takeSubscribeTally(),
  };
}

function takeSubscribeTally(): SubscribeTally {
  const taken = subscribeTally;
  subscribeTally = emptySubscribeTally();
  return { ...taken, histogram: taken.histogram.encode() };
}

function refusal(map: Map<string, number>, error: unknown): void {
  const code =
    error instanceof Error && error.message.includes('timed out')
      ? 'timeout'
      : errorText(error).split(':')[0]!;
  count(map, code);
}

serveParentCalls<LoadClientCalls>({
  open,

  async subscribe({ perSec }) {
    const pending = clients.filter((client) => client.baseline === undefined);
    await paced(pending, perSec, 500, async (client) => {
      await subscribe(client, true);
    });
    return takeSubscribeTally();
  },

  startLoad(params) {
    loadStartMicros = params.loadStartMicros;
    return {};
  },

  async send({ schedule, bodyBytes, ackTimeoutMs }) {
    const senders = clients.filter((client) => client.device.sender && !client.paused);
    const ackHistogram = LatencyHistogram.empty();
    const refused = new Map<string, number>();
    const heads = new Map<string, number>();
    const inFlight = new Set<Promise<void>>();
    const prefix = randomUUID().slice(0, 8);
    let issued = 0;
    let acked = 0;
    let retried = 0;
    /**
     * Sends one message as a device app would: a `rate_limited` answer is tried again after its
     * `retryAfterMs` with the same clientId (sends are idempotent on it); latency runs from the
     * first attempt.
     */
    const sendOne = (client: Client): void => {
      const sentAt = nowMicros();
      const payload = {
        conversationId: client.device.conversationId,
        clientId: `${prefix}-${issued}`,
        body: encodeBody({ phase: 0, sentAtMicros: sentAt }, bodyBytes),
      };
      const attempt = async (): Promise<void> => {
        for (let tries = 1; ; tries++) {
          const ack = await client.socket
            .timeout(ackTimeoutMs)
            .emitWithAck(EVENTS.messageSend, payload);
          if (ack.ok) {
            acked++;
            ackHistogram.record(nowMicros() - sentAt);
            heads.set(ack.stream, Math.max(heads.get(ack.stream) ?? 0, ack.seq));
            return;
          }
          if (ack.error.code !== 'rate_limited' || tries === MAX_SEND_TRIES) {
            count(refused, ack.error.code);
            return;
          }
          retried++;
          await sleep(ack.error.retryAfterMs ?? 100);
        }
      };
      const sent = attempt()
        .catch((error: unknown) => refusal(refused, error))
        .finally(() => inFlight.delete(sent));
      inFlight.add(sent);
    };
    const started = performance.now();
    const durationMs = scheduleDurationMs(schedule);
    while (senders.length > 0 && schedule.length > 0) {
      const elapsed = performance.now() - started;
      const due = scheduledCount(schedule, Math.min(elapsed, durationMs)) - issued;
      for (let i = 0; i < due; i++) {
        sendOne(senders[issued % senders.length]!);
        issued++;
      }
      if (elapsed >= durationMs) break;
      await sleep(5);
    }
    const elapsedMs = performance.now() - started;
    await Promise.all(inFlight);
    return {
      issued,
      acked,
      refused: Object.fromEntries(refused),
      ackHistogram: ackHistogram.encode(),
      elapsedMs,
      heads: Object.fromEntries(heads),
      retried,
    };
  },

  async typing({ perSec, durationMs }) {
    const typists = clients.filter((client) => client.socket.connected);
    const ackHistogram = LatencyHistogram.empty();
    const refused = new Map<string, number>();
    const receivedBefore = tally.typing;
    const presenceBefore = tally.presence;
    let issued = 0;
    let acked = 0;
    const inFlight = new Set<Promise<void>>();
    const schedule = [{ name: 'hold', durationMs, fromPerSec: perSec, toPerSec: perSec }];
    const started = performance.now();
    while (typists.length > 0) {
      const elapsed = performance.now() - started;
      const due = scheduledCount(schedule, Math.min(elapsed, durationMs)) - issued;
      for (let i = 0; i < due; i++) {
        const client = typists[issued % typists.length]!;
        const sentAt = nowMicros();
        const typed = client.socket
          .timeout(10_000)
          .emitWithAck(EVENTS.typingUpdate, {
            conversationId: client.device.conversationId,
            typing: issued % 2 === 0,
          })
          .then(
            (ack) => {
              if (!ack.ok) return count(refused, ack.error.code);
              acked++;
              ackHistogram.record(nowMicros() - sentAt);
            },
            (error: unknown) => refusal(refused, error),
          )
          .finally(() => inFlight.delete(typed));
        inFlight.add(typed);
        issued++;
      }
      if (elapsed >= durationMs) break;
      await sleep(5);
    }
    await Promise.all(inFlight);
    return {
      issued,
      acked,
      refused: Object.fromEntries(refused),
      ackHistogram: ackHistogram.encode(),
      received: tally.typing - receivedBefore,
      presenceEvents: tally.presence - presenceBefore,
    };
  },

  drop({ fraction }) {
    const connected = clients.filter((client) => client.socket.connected);
    const chosen = connected.slice(0, Math.round(connected.length * fraction));
    const at = nowMicros();
    for (const client of chosen) {
      client.droppedAt = at;
      tally.dropped++;
      // Closes the websocket under socket.io's feet, as a lost network would: the client
      // reconnects by itself (with the same token) and resumes.
      client.socket.io.engine.close();
    }
    return { dropped: chosen.length };
  },

  async awaitResumed({ timeoutMs }) {
    const deadline = performance.now() + timeoutMs;
    const pending = (): number => clients.filter((client) => client.droppedAt !== undefined).length;
    while (pending() > 0 && performance.now() < deadline) await sleep(20);
    return { pending: pending() };
  },

  pause({ fraction }) {
    // Receivers only: a sender that stops reading would also stop hearing its acks.
    const chosen = clients
      .filter((client) => !client.device.sender)
      .slice(0, Math.round(clients.length * fraction));
    for (const client of chosen) {
      const transport = client.socket.io.engine.transport as unknown as {
        readonly ws?: { pause(): void };
      };
      transport.ws?.pause();
      client.paused = true;
      client.stalled = true;
    }
    return { paused: chosen.length };
  },

  unpause() {
    for (const client of clients) {
      if (!client.paused) continue;
      const transport = client.socket.io.engine.transport as unknown as {
        readonly ws?: { resume(): void };
      };
      transport.ws?.resume();
      client.paused = false;
    }
    return {};
  },

  progress() {
    let received = 0;
    let connected = 0;
    for (const client of clients) {
      received += client.received;
      if (client.socket.connected) connected++;
    }
    return { received, connected };
  },

  tally(): ClientTally {
    const cpu = process.cpuUsage(cpuAtStart);
    return {
      heads: Object.fromEntries(tally.heads),
      streams: clients.map((client) => ({
        stream: client.device.stream,
        baseline: client.baseline ?? -1,
        received: client.received,
        highest: client.highest,
      })),
      duplicated: tally.duplicated,
      outOfOrder: tally.outOfOrder,
      receiveHistogram: tally.receive.encode(),
      stalledHistogram: tally.stalled.encode(),
      commitHistogram: tally.commit.encode(),
      timeline: Object.fromEntries(
        [...tally.timeline].map(([second, histogram]) => [second, histogram.encode()]),
      ),
      firstReceiveMicros: tally.firstReceiveMicros,
      lastReceiveMicros: tally.lastReceiveMicros,
      disconnects: Object.fromEntries(tally.disconnects),
      reconnectErrors: Object.fromEntries(tally.reconnectErrors),
      resubscribeRefusals: Object.fromEntries(tally.resubscribeRefusals),
      dropped: tally.dropped,
      resumed: tally.resumed,
      reconnectHistogram: tally.reconnect.encode(),
      resumeHistogram: tally.resume.encode(),
      resyncs: tally.resyncs,
      cpuMicros: cpu.user + cpu.system,
    };
  },

  close() {
    for (const client of clients) client.socket.disconnect();
    clients.length = 0;
    return {};
  },
});
