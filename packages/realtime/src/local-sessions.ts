import type { DeviceIdentity, SessionEndReason } from '@ccs/protocol';
import { rateLimited } from './send-limits.js';

/** How many sockets one device and one user may hold on this node. */
export interface SessionLimits {
  readonly socketsPerDevice: number;
  readonly socketsPerUser: number;
}

/** Why and how a session was ended, for one still in its handshake. */
export interface SessionEnd {
  readonly reason: SessionEndReason;
  readonly message: string;
}

/** What the sessions registry needs of a socket: whether its handshake is over. */
export interface SessionSocket {
  readonly connected: boolean;
}

/** What a socket connected for longest should wait before trying another: a guess, 5 s. */
const SOCKET_LIMIT_RETRY_AFTER_MS = 5000;

/**
 * The sockets of this node by device and by user, from the handshake (before the database is
 * asked whether the device is still active) until disconnect: a revocation read from the change
 * log while a handshake is under way is not missed, and the per-device and per-user socket
 * limits count handshakes under way too.
 */
export class LocalSessions<S extends SessionSocket> {
  private readonly byDevice = new Map<string, Set<S>>();
  private readonly byUser = new Map<string, Set<S>>();
  /** Sockets whose session ended while they were still in their handshake. */
  private readonly endedInHandshake = new WeakMap<S, SessionEnd>();

  constructor(
    private readonly limits: SessionLimits,
    /** Tells a connected socket its session ended, and disconnects it. */
    private readonly endSession: (socket: S, end: SessionEnd) => void,
  ) {}

  /** Counts `socket` for its device and user; `rate_limited` when either is at its limit. */
  admit(socket: S, identity: DeviceIdentity): void {
    const devices = this.byDevice.get(identity.deviceId);
    if ((devices?.size ?? 0) >= this.limits.socketsPerDevice) {
      throw rateLimited(
        `device has ${this.limits.socketsPerDevice} sockets on this server already; close one`,
        SOCKET_LIMIT_RETRY_AFTER_MS,
      );
    }
    const users = this.byUser.get(identity.userId);
    if ((users?.size ?? 0) >= this.limits.socketsPerUser) {
      throw rateLimited(
        `user has ${this.limits.socketsPerUser} sockets on this server already; close one`,
        SOCKET_LIMIT_RETRY_AFTER_MS,
      );
    }
    add(this.byDevice, identity.deviceId, socket);
    add(this.byUser, identity.userId, socket);
  }

  /** Stops counting `socket` (disconnected, or its handshake failed). */
  remove(socket: S, identity: DeviceIdentity): void {
    remove(this.byDevice, identity.deviceId, socket);
    remove(this.byUser, identity.userId, socket);
  }

  /** Ends the session of every socket of the device; returns how many there were. */
  endDevice(deviceId: string, end: SessionEnd): number {
    return this.endAll(this.byDevice.get(deviceId), end);
  }

  /** Ends the session of every socket of the user; returns how many there were. */
  endUser(userId: string, end: SessionEnd): number {
    return this.endAll(this.byUser.get(userId), end);
  }

  /** How the session of a socket still in its handshake was ended meanwhile, if it was. */
  endedDuringHandshake(socket: S): SessionEnd | undefined {
    return this.endedInHandshake.get(socket);
  }

  private endAll(sockets: ReadonlySet<S> | undefined, end: SessionEnd): number {
    if (!sockets) return 0;
    const all = [...sockets];
    for (const socket of all) {
      if (socket.connected) this.endSession(socket, end);
      else this.endedInHandshake.set(socket, end);
    }
    return all.length;
  }
}

function add<S>(index: Map<string, Set<S>>, key: string, socket: S): void {
  const set = index.get(key);
  if (set) set.add(socket);
  else index.set(key, new Set([socket]));
}

function remove<S>(index: Map<string, Set<S>>, key: string, socket: S): void {
  const set = index.get(key);
  if (!set) return;
  set.delete(socket);
  if (set.size === 0) index.delete(key);
}
