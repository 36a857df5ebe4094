import type { StreamName } from '@ccs/protocol';
import type { Redis } from 'ioredis';

/** Default of {@link RedisPresenceOptions.heartbeatMs}. */
const DEFAULT_HEARTBEAT_MS = 3000;
/**
 * Default of {@link RedisPresenceOptions.ttlMs}: a heartbeat may come 4 s late, and a killed
 * node's devices are offline within 8 s (this, then a sweep).
 */
const DEFAULT_TTL_MS = 7000;
/** Expired entries are looked for this often at most (or every heartbeat, when that is faster). */
const MAX_SWEEP_MS = 1000;
/** Expired entries one sweep of one stream removes; the rest wait for the next sweep. */
const SWEEP_BATCH = 1000;

/** A device in a stream, `<userId>/<deviceId>` (ids are uuids: no `/` inside). */
export type PresenceDevice = `${string}/${string}`;

/** One device's identity, as a socket's token names it. */
export interface PresenceIdentity {
  readonly userId: string;
  readonly deviceId: string;
}

/**
 * Where the devices online in each stream are kept: one entry per device per node that has a
 * socket of it subscribed, `<userId>/<deviceId>/<nodeId>/<since ms>`. A device is online while
 * it has at least one entry; the store says when a device's first entry came and its last went,
 * so that exactly one node announces each change, whichever node made it.
 */
export interface PresenceStore {
  /**
   * Adds this node's entries of a stream, or renews them; resolves with the devices that came
   * online (had no entry before).
   */
  renew(stream: StreamName, entries: readonly string[]): Promise<PresenceDevice[]>;
  /** Removes one of this node's entries; resolves whether its device went offline with it. */
  remove(stream: StreamName, entry: string): Promise<boolean>;
  /** Every node's unexpired entries of a stream. */
  list(stream: StreamName): Promise<string[]>;
  /**
   * When entries expire unless renewed (a store shared by nodes, one of which may die without
   * a word): how often to renew them, and how to remove the expired ones. Absent for a store
   * that lives and dies with this node.
   */
  readonly expiry?: PresenceExpiry;
}

/** How a {@link PresenceStore} whose entries expire is kept: heartbeats and sweeps. */
export interface PresenceExpiry {
  /** Renew this node's entries this often. */
  readonly heartbeatMs: number;
  /** Sweep the streams this node serves this often. */
  readonly sweepMs: number;
  /** Removes a stream's expired entries, any node's; resolves with the devices that went offline. */
  sweep(stream: StreamName): Promise<PresenceDevice[]>;
}

/** This node's entry of a device in a stream, online since `sinceMs` (epoch ms). */
export function presenceEntry(identity: PresenceIdentity, nodeId: string, sinceMs: number): string {
  return `${identity.userId}/${identity.deviceId}/${nodeId}/${sinceMs}`;
}

/** The device of an entry, and since when it is online there. */
export function parsePresenceEntry(entry: string): PresenceIdentity & { readonly sinceMs: number } {
  const [userId = '', deviceId = '', , since = ''] = entry.split('/');
  return { userId, deviceId, sinceMs: Number(since) };
}

/** The user and device of a {@link PresenceDevice}. */
export function parsePresenceDevice(device: PresenceDevice): PresenceIdentity {
  const [userId = '', deviceId = ''] = device.split('/');
  return { userId, deviceId };
}

/** The {@link PresenceDevice} of an identity. */
export function presenceDevice(identity: PresenceIdentity): PresenceDevice {
  return `${identity.userId}/${identity.deviceId}`;
}

/**
 * The presence of one node, in its memory: every device is online here from its first socket
 * to its last, and nothing expires (the node's death takes it along).
 */
export class LocalPresenceStore implements PresenceStore {
  private readonly streams = new Map<StreamName, Set<string>>();

  async renew(stream: StreamName, entries: readonly string[]): Promise<PresenceDevice[]> {
    let present = this.streams.get(stream);
    if (!present) this.streams.set(stream, (present = new Set()));
    const online: PresenceDevice[] = [];
    for (const entry of entries) {
      if (present.has(entry)) continue;
      present.add(entry);
      online.push(presenceDevice(parsePresenceEntry(entry)));
    }
    return online;
  }

  /** A device has one entry here per stream: removing it takes the device offline. */
  async remove(stream: StreamName, entry: string): Promise<boolean> {
    const present = this.streams.get(stream);
    const removed = present?.delete(entry) ?? false;
    if (present?.size === 0) this.streams.delete(stream);
    return removed;
  }

  async list(stream: StreamName): Promise<string[]> {
    return [...(this.streams.get(stream) ?? [])];
  }
}

/** Options of {@link RedisPresenceStore} (and of the gateway's `presence`). */
export interface RedisPresenceOptions {
  /** A connection for presence alone; its scripts are defined on it. */
  readonly redis: Redis;
  /** Keys are `<prefix>:presence:{<stream>}` and `<prefix>:presence:{<stream>}:devices`. */
  readonly prefix: string;
  /** How often each node renews its entries. @default 3000 */
  readonly heartbeatMs?: number;
  /**
   * An entry not renewed for this long is expired: a killed node's devices go offline within
   * `ttlMs` plus a sweep (at most 1 s). At least twice `heartbeatMs`. @default 7000
   */
  readonly ttlMs?: number;
}

/** The `<userId>/<deviceId>` an entry starts with. */
const DEVICE_OF = `local function device_of(entry) return string.match(entry, '^[^/]*/[^/]*') end
`;

/** Current time in ms by Redis's clock, so that every node's expiry times compare. */
const NOW = `local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
`;

/**
 * KEYS: entries (a sorted set scored by expiry time), devices (a hash: entries per device).
 * ARGV: ttl ms, entries. Adds or renews the entries; returns the devices that had none.
 */
const RENEW = `${NOW}${DEVICE_OF}
local ttl = tonumber(ARGV[1])
local online = {}
for i = 2, #ARGV do
  if redis.call('ZADD', KEYS[1], now + ttl, ARGV[i]) == 1 then
    local device = device_of(ARGV[i])
    if redis.call('HINCRBY', KEYS[2], device, 1) == 1 then online[#online + 1] = device end
  end
end
redis.call('PEXPIRE', KEYS[1], 2 * ttl)
redis.call('PEXPIRE', KEYS[2], 2 * ttl)
return online`;

/** ARGV: an entry. Removes it; returns 1 when its device has no entry left. */
const REMOVE = `${DEVICE_OF}
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return 0 end
local device = device_of(ARGV[1])
if redis.call('HINCRBY', KEYS[2], device, -1) > 0 then return 0 end
redis.call('HDEL', KEYS[2], device)
return 1`;

/** ARGV: most entries to remove. Removes expired entries; returns the devices left with none. */
const SWEEP = `${NOW}${DEVICE_OF}
local offline = {}
for _, entry in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))) do
  redis.call('ZREM', KEYS[1], entry)
  local device = device_of(entry)
  if redis.call('HINCRBY', KEYS[2], device, -1) <= 0 then
    redis.call('HDEL', KEYS[2], device)
    offline[#offline + 1] = device
  end
end
return offline`;

/** Returns the unexpired entries. */
const LIST = `${NOW}
return redis.call('ZRANGEBYSCORE', KEYS[1], string.format('(%d', now), '+inf')`;

/** The scripts, as {@link Redis.defineCommand} adds them to the connection. */
interface PresenceCommands {
  ccsPresenceRenew(
    entries: string,
    devices: string,
    ttlMs: number,
    ...members: string[]
  ): Promise<PresenceDevice[]>;
  ccsPresenceRemove(entries: string, devices: string, entry: string): Promise<number>;
  ccsPresenceSweep(entries: string, devices: string, batch: number): Promise<PresenceDevice[]>;
  ccsPresenceList(entries: string, devices: string): Promise<string[]>;
}

/**
 * Presence shared by every node through Redis. Per stream, a sorted set of entries scored by
 * their expiry (Redis's clock) and a hash counting each device's entries; each change is one
 * Lua script, so of the nodes adding, removing or sweeping entries of a device at once exactly
 * one sees its count go from 0 to 1 or from 1 to 0, and announces it. Both keys expire
 * `2 × ttlMs` after the stream's last write.
 */
export class RedisPresenceStore implements PresenceStore {
  readonly expiry: PresenceExpiry;
  private readonly commands: PresenceCommands;
  private readonly ttlMs: number;

  constructor(private readonly options: RedisPresenceOptions) {
    const heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
    this.ttlMs = options.ttlMs ?? DEFAULT_TTL_MS;
    if (!(heartbeatMs > 0) || !(this.ttlMs >= 2 * heartbeatMs)) {
      throw new RangeError(
        `presence needs heartbeatMs > 0 and ttlMs >= 2 × heartbeatMs (got ${heartbeatMs}, ${this.ttlMs})`,
      );
    }
    const { redis } = options;
    redis.defineCommand('ccsPresenceRenew', { numberOfKeys: 2, lua: RENEW });
    redis.defineCommand('ccsPresenceRemove', { numberOfKeys: 2, lua: REMOVE });
    redis.defineCommand('ccsPresenceSweep', { numberOfKeys: 2, lua: SWEEP });
    redis.defineCommand('ccsPresenceList', { numberOfKeys: 2, lua: LIST });
    this.commands = redis as unknown as PresenceCommands;
    this.expiry = {
      heartbeatMs,
      sweepMs: Math.min(MAX_SWEEP_MS, heartbeatMs),
      sweep: (stream) => this.commands.ccsPresenceSweep(...this.keys(stream), SWEEP_BATCH),
    };
  }

  renew(stream: StreamName, entries: readonly string[]): Promise<PresenceDevice[]> {
    return this.commands.ccsPresenceRenew(...this.keys(stream), this.ttlMs, ...entries);
  }

  async remove(stream: StreamName, entry: string): Promise<boolean> {
    return (await this.commands.ccsPresenceRemove(...this.keys(stream), entry)) === 1;
  }

  list(stream: StreamName): Promise<string[]> {
    return this.commands.ccsPresenceList(...this.keys(stream));
  }

  /** The stream's keys, in one hash slot (Redis Cluster runs a script on one slot's keys). */
  private keys(stream: StreamName): [entries: string, devices: string] {
    const entries = `${this.options.prefix}:presence:{${stream}}`;
    return [entries, `${entries}:devices`];
  }
}
