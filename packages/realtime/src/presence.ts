import { randomUUID } from 'node:crypto';
import {
  EVENTS,
  isStreamName,
  presenceListPayloadSchema,
  type PresenceMember,
  type StreamName,
} from '@ccs/protocol';
import type { Logger } from 'pino';
import type { GatewayServer, GatewaySocket } from './gateway-socket.js';
import { eventHandler, type EventHandler } from './inbound-events.js';
import {
  parsePresenceDevice,
  parsePresenceEntry,
  presenceDevice,
  presenceEntry,
  type PresenceDevice,
  type PresenceIdentity,
  type PresenceStore,
} from './presence-store.js';
import { RealtimeError } from './realtime-error.js';
import { rateLimited, TokenBuckets } from './send-limits.js';

/** Options of {@link Presence}. */
export interface PresenceOptions {
  /** Whose rooms are watched, and where presence events are emitted (to every node). */
  readonly io: GatewayServer;
  readonly store: PresenceStore;
  /** Presence changes per device per second (a token bucket); more wait for a token. */
  readonly changesPerSecond: number;
  /** Presence changes a device may make at once after a pause. */
  readonly changeBurst: number;
  /** Changes are pushed to rooms of at most this many sockets here; larger ones ask `presence:list`. */
  readonly pushMaxMembers: number;
  readonly logger: Logger;
}

/** A device with sockets of this node in a stream's room. */
interface LocalDevice extends PresenceIdentity {
  /** Its sockets of this node in the room. */
  readonly sockets: Set<string>;
  /** Its entry in the store while this node has it online; undefined while it does not. */
  entry: string | undefined;
  /** Armed while a change of the device waits for a token. */
  waiting: NodeJS.Timeout | undefined;
}

/** A socket of this node in at least one stream's room. */
interface LocalSocket extends PresenceIdentity {
  /** Stream rooms it is in. */
  rooms: number;
}

/**
 * Who is online in each stream: a device is, while at least one of its sockets (on any node)
 * is in the stream's room, i.e. subscribed and live. It follows the rooms themselves (the
 * adapter's `join-room` and `leave-room`), so every way a subscription ends (unsubscribe,
 * disconnect, access revoked, slow consumer, session ended) takes the device offline. Each
 * node keeps its devices' entries in the store, renews them (heartbeats) and sweeps expired
 * entries of the streams it serves, so the devices of a node that died go offline too. The
 * store tells which node saw a device's first entry come or its last go; that node emits
 * `presence` to the room on every node. A device's changes spend tokens of its own bucket, and
 * wait for one when it is empty: a device flapping a subscription costs the room at most
 * `changesPerSecond` events (the flaps in between cancel out). The socket.io adapter must be
 * set before (`new Server(…, { adapter })`): setting another re-creates the adapter it listens to.
 */
export class Presence {
  /** Names this node's entries. */
  private readonly nodeId = randomUUID();
  private readonly streams = new Map<StreamName, Map<PresenceDevice, LocalDevice>>();
  private readonly sockets = new Map<string, LocalSocket>();
  private readonly changeRates: TokenBuckets;
  /** Store operations under way (they never reject), awaited by `close`. */
  private readonly inFlight = new Set<Promise<void>>();
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly onJoin = (room: string, id: string): void => this.joined(room, id);
  private readonly onLeave = (room: string, id: string): void => this.left(room, id);

  constructor(private readonly options: PresenceOptions) {
    this.changeRates = new TokenBuckets(options.changesPerSecond, options.changeBurst);
    const adapter = options.io.of('/').adapter;
    adapter.on('join-room', this.onJoin);
    adapter.on('leave-room', this.onLeave);
    const expiry = options.store.expiry;
    if (expiry) {
      this.timers.push(
        this.every(expiry.heartbeatMs, 'heartbeat', (stream, devices) => {
          const entries = [...devices.values()].flatMap((device) => device.entry ?? []);
          return entries.length === 0
            ? Promise.resolve()
            : options.store.renew(stream, entries).then((online) => {
                this.announce(stream, online, 'online');
              });
        }),
        this.every(expiry.sweepMs, 'sweep', (stream) =>
          expiry.sweep(stream).then((offline) => this.announce(stream, offline, 'offline')),
        ),
      );
    }
  }

  /**
   * The devices online in `stream` on any node, one per device, online `since` its earliest
   * entry, oldest first.
   */
  async list(stream: StreamName): Promise<PresenceMember[]> {
    const earliest = new Map<PresenceDevice, PresenceIdentity & { sinceMs: number }>();
    for (const entry of await this.options.store.list(stream)) {
      const parsed = parsePresenceEntry(entry);
      const device = presenceDevice(parsed);
      const known = earliest.get(device);
      if (!known || parsed.sinceMs < known.sinceMs) earliest.set(device, parsed);
    }
    return [...earliest.values()]
      .sort((a, b) => a.sinceMs - b.sinceMs)
      .map(({ userId, deviceId, sinceMs }) => ({
        userId,
        deviceId,
        since: new Date(sinceMs).toISOString(),
      }));
  }

  /**
   * Stops following rooms, takes this node's devices offline (their entries removed, the
   * changes announced) and waits for the store.
   */
  async close(): Promise<void> {
    const adapter = this.options.io.of('/').adapter;
    adapter.off('join-room', this.onJoin);
    adapter.off('leave-room', this.onLeave);
    for (const timer of this.timers) clearInterval(timer);
    for (const [stream, devices] of this.streams) {
      for (const [key, device] of devices) {
        clearTimeout(device.waiting);
        if (device.entry !== undefined) this.goOffline(stream, key, device.entry);
      }
    }
    this.streams.clear();
    this.sockets.clear();
    this.changeRates.close();
    await Promise.all(this.inFlight);
  }

  private joined(room: string, id: string): void {
    if (room === id || !isStreamName(room)) return;
    let local = this.sockets.get(id);
    if (!local) {
      const socket = this.options.io.of('/').sockets.get(id);
      if (!socket) return;
      const { userId, deviceId } = socket.data;
      local = { userId, deviceId, rooms: 0 };
      this.sockets.set(id, local);
    }
    local.rooms++;
    let devices = this.streams.get(room);
    if (!devices) this.streams.set(room, (devices = new Map()));
    const key = presenceDevice(local);
    let device = devices.get(key);
    if (!device) {
      device = {
        userId: local.userId,
        deviceId: local.deviceId,
        sockets: new Set(),
        entry: undefined,
        waiting: undefined,
      };
      devices.set(key, device);
    }
    device.sockets.add(id);
    this.settle(room, key, device);
  }

  private left(room: string, id: string): void {
    const local = this.sockets.get(id);
    if (!local || room === id || !isStreamName(room)) return;
    if (--local.rooms === 0) this.sockets.delete(id);
    const key = presenceDevice(local);
    const device = this.streams.get(room)?.get(key);
    if (!device?.sockets.delete(id)) return;
    this.settle(room, key, device);
  }

  /**
   * Brings the store in line with the device's sockets here: online while it has one, offline
   * when it has none; a change waits for a token of the device, and is dropped when the
   * sockets are back where the store is by then.
   */
  private settle(stream: StreamName, key: PresenceDevice, device: LocalDevice): void {
    if (device.waiting) return;
    const wanted = device.sockets.size > 0;
    if (wanted === (device.entry !== undefined)) {
      if (!wanted) this.forget(stream, key);
      return;
    }
    const waitMs = this.changeRates.take(device.deviceId);
    if (waitMs > 0) {
      device.waiting = setTimeout(() => {
        device.waiting = undefined;
        this.settle(stream, key, device);
      }, waitMs);
      return;
    }
    if (wanted) {
      const entry = presenceEntry(device, this.nodeId, Date.now());
      device.entry = entry;
      this.track(
        this.options.store.renew(stream, [entry]).then((online) => {
          this.announce(stream, online, 'online');
        }),
        'add',
      );
    } else {
      const entry = device.entry!;
      device.entry = undefined;
      this.forget(stream, key);
      this.goOffline(stream, key, entry);
    }
  }

  /** Removes this node's entry of a device; announces it offline if that was its last. */
  private goOffline(stream: StreamName, key: PresenceDevice, entry: string): void {
    this.track(
      this.options.store.remove(stream, entry).then((offline) => {
        if (offline) this.announce(stream, [key], 'offline');
      }),
      'remove',
    );
  }

  /** Drops a device this node no longer has in the stream (and the stream, once empty). */
  private forget(stream: StreamName, key: PresenceDevice): void {
    const devices = this.streams.get(stream);
    devices?.delete(key);
    if (devices?.size === 0) this.streams.delete(stream);
  }

  /**
   * Emits the devices' `presence` to the stream's room on every node, unless the room is
   * larger here than `pushMaxMembers` (its members ask `presence:list`).
   */
  private announce(
    stream: StreamName,
    devices: readonly PresenceDevice[],
    state: 'online' | 'offline',
  ): void {
    const members = this.options.io.of('/').adapter.rooms.get(stream)?.size ?? 0;
    if (members > this.options.pushMaxMembers) return;
    for (const device of devices) {
      const { userId, deviceId } = parsePresenceDevice(device);
      this.options.io.to(stream).emit(EVENTS.presence, { stream, userId, deviceId, state });
    }
  }

  /**
   * Keeps `operation` until it settles. A failure is logged: a lost add is made by the next
   * heartbeat, a lost remove by a sweep once the entry expired.
   */
  private track(operation: Promise<void>, what: string): void {
    const task = operation.catch((error: unknown) =>
      this.options.logger.warn(
        { err: error },
        `presence ${what} failed; heartbeats and sweeps repair it`,
      ),
    );
    this.inFlight.add(task);
    void task.finally(() => this.inFlight.delete(task));
  }

  /**
   * Runs `run` for each stream this node has devices in, every `ms`; a round still under way
   * (a slow store) makes the next one skip.
   */
  private every(
    ms: number,
    what: string,
    run: (stream: StreamName, devices: ReadonlyMap<PresenceDevice, LocalDevice>) => Promise<void>,
  ): NodeJS.Timeout {
    let running = false;
    const timer = setInterval(() => {
      if (running) return;
      running = true;
      const round = Promise.allSettled(
        [...this.streams].map(([stream, devices]) => run(stream, devices)),
      ).then((results) => {
        running = false;
        const failed = results.filter((result) => result.status === 'rejected');
        if (failed[0]) {
          this.options.logger.warn(
            { err: failed[0].reason, streams: failed.length },
            `presence ${what} failed; will retry`,
          );
        }
      });
      this.track(round, what);
    }, ms);
    timer.unref();
    return timer;
  }
}

/** The ephemeral requests' budget of each device: `typing:update` and `presence:list`. */
export interface EphemeralRates {
  readonly buckets: TokenBuckets;
  readonly perSecond: number;
}

/**
 * The `admit` of an ephemeral request: spends a token of the socket's device, or refuses the
 * request with `rate_limited` before its payload is parsed.
 */
export function admitEphemeral(rates: EphemeralRates): (socket: GatewaySocket) => () => void {
  return (socket) => {
    const waitMs = rates.buckets.take(socket.data.deviceId);
    if (waitMs > 0) {
      throw rateLimited(
        `this device makes over ${rates.perSecond} typing and presence requests per second`,
        waitMs,
      );
    }
    return doNothing;
  };
}

function doNothing(): void {}

/** `presence:list`, for every socket: who is online in a stream it is subscribed to. */
export function presenceListHandler(presence: Presence, rates: EphemeralRates): EventHandler {
  return eventHandler(
    presenceListPayloadSchema,
    async ({ stream }, socket) => {
      if (!socket.rooms.has(stream)) {
        throw new RealtimeError(
          'forbidden',
          `subscribe to ${stream} first: its presence is listed to its subscribers only`,
        );
      }
      return { members: await presence.list(stream) };
    },
    admitEphemeral(rates),
  );
}
