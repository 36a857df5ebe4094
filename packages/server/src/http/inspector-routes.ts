import { findDevice, readStreamPosition, readStreamPositions, type Database } from '@ccs/db';
import {
  EVENTS,
  idSchema,
  isStreamName,
  streamNameSchema,
  type ServerToClientEvents,
  type StreamName,
} from '@ccs/protocol';
import {
  parsePayload,
  parsePresenceEntry,
  RealtimeError,
  type GatewayServer,
  type GatewaySocketData,
} from '@ccs/realtime';
import type { FastifyInstance } from 'fastify';
import type { RemoteSocket } from 'socket.io';
import { z } from 'zod';

/** Reads a stream's presence entries (every node's), as `RedisPresenceStore.list` does. */
export interface PresenceReader {
  list(stream: StreamName): Promise<string[]>;
}

/** What {@link registerInspectorRoutes} needs: a gateway's socket.io server and its stores. */
export interface InspectorDeps {
  /** The socket.io server, with the Redis adapter: its fetches and emits reach every node. */
  readonly io: GatewayServer;
  /** Devices and stream heads are read here. */
  readonly db: Database;
  /** The shared presence store (entries `<userId>/<deviceId>/<presence node>/<since ms>`). */
  readonly presence: PresenceReader;
}

/** A socket as `fetchSockets()` returns it, local or on another node. */
type AnySocket = RemoteSocket<ServerToClientEvents, GatewaySocketData>;

/**
 * The room every socket of a device joins at connection (see {@link trackInspectedSockets}), so
 * that the inspector finds a device's sockets on every node without listing every socket. Not a
 * stream name: presence, typing and the relay ignore it.
 */
export function deviceRoom(deviceId: string): string {
  return `ccs-device:${deviceId}`;
}

/**
 * What the inspector reads of `socket.data`. A socket on another node arrives as JSON (its
 * `subscriptions` map as `{}`), so the data is parsed, never trusted: `received` (the highest
 * seq the device acknowledged per stream, kept by the gateway from `changes:received`) is
 * absent until the device acknowledged something.
 */
const inspectedDataSchema = z.object({
  userId: z.string(),
  deviceId: z.string(),
  node: z.string().optional().catch(undefined),
  connectedAt: z.string().optional().catch(undefined),
  received: z.record(z.string(), z.number()).optional().catch(undefined),
  reportedAt: z.number().optional().catch(undefined),
});
type InspectedData = z.infer<typeof inspectedDataSchema>;

/** A socket's data, or a placeholder for one whose data is not a gateway's (never expected). */
function inspectedData(socket: AnySocket): InspectedData {
  const parsed = inspectedDataSchema.safeParse(socket.data);
  return parsed.success ? parsed.data : { userId: '', deviceId: '' };
}

/**
 * Names each socket with the node that owns it (`socket.data.node`), when it connected
 * (`socket.data.connectedAt`), and puts it in its device's room. Call once per gateway, with the
 * node id (read at each connection: it is known once the server listens).
 */
export function trackInspectedSockets(io: GatewayServer, nodeId: () => string): void {
  io.on('connection', (socket) => {
    Object.assign(socket.data, { node: nodeId(), connectedAt: new Date().toISOString() });
    // A socket the gateway refused in its own connection handler must not stay in a room.
    if (socket.connected) void socket.join(deviceRoom(socket.data.deviceId));
  });
}

/** One socket subscribed to a stream, and how far behind its device is. */
export interface SubscriberView {
  readonly node: string | null;
  readonly socketId: string;
  readonly userId: string;
  readonly deviceId: string;
  readonly connectedAt: string | null;
  /** Highest seq the device acknowledged (`changes:received`); null when it never did. */
  readonly received: number | null;
  /** `head - received`; null when `received` is. */
  readonly lag: number | null;
  /**
   * When the socket's device last reported (ISO; null: never): `received` is as of then, and
   * devices report at most every `receivedReportMs` (5 s by default) while changes come.
   */
  readonly reportedAt: string | null;
}

/** `GET /v1/admin/streams/:stream/subscribers`. */
export interface StreamSubscribersView {
  readonly stream: StreamName;
  readonly head: number;
  readonly subscribers: readonly SubscriberView[];
}

/** A stream one of a device's sockets is subscribed to. */
export interface SocketStreamView {
  readonly stream: StreamName;
  readonly head: number;
  readonly received: number | null;
  readonly lag: number | null;
}

/** One socket of a device, on any node. */
export interface DeviceSocketView {
  readonly node: string | null;
  readonly socketId: string;
  readonly connectedAt: string | null;
  /** When the device last reported on this socket (ISO; null: never), as {@link SubscriberView}'s. */
  readonly reportedAt: string | null;
  readonly streams: readonly SocketStreamView[];
}

/** The device's presence in one stream it is subscribed to. */
export interface DevicePresenceView {
  readonly stream: StreamName;
  readonly online: boolean;
  /** Its earliest entry in the stream (ISO), null when offline. */
  readonly since: string | null;
}

/** `GET /v1/admin/devices/:deviceId`. */
export interface DeviceView {
  readonly device: {
    readonly id: string;
    readonly userId: string;
    readonly name: string;
    readonly createdAt: string;
    readonly revokedAt: string | null;
    readonly revoked: boolean;
  };
  readonly sockets: readonly DeviceSocketView[];
  readonly presence: readonly DevicePresenceView[];
}

/** `POST /v1/admin/streams/:stream/resync`. */
export interface StreamResyncView {
  readonly stream: StreamName;
  readonly head: number;
  /** Sockets subscribed to the stream when the request came, on every node. */
  readonly sockets: number;
}

/** `POST /v1/admin/devices/:deviceId/resync`. */
export interface DeviceResyncView {
  readonly deviceId: string;
  /** Sockets of the device that were told (those subscribed to at least one stream). */
  readonly sockets: number;
  /** Every stream told, with the head it was told. */
  readonly streams: readonly { readonly stream: StreamName; readonly head: number }[];
}

const streamParamsSchema = z.object({ stream: streamNameSchema });
const deviceParamsSchema = z.object({ deviceId: idSchema });

/** Sockets in `room` on every node; a node that does not answer is `internal`, named. */
async function fetchRoom(io: GatewayServer, room: string): Promise<AnySocket[]> {
  try {
    return await io.in(room).fetchSockets();
  } catch (error) {
    throw new RealtimeError(
      'internal',
      `not every node answered for ${room}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

/** The stream rooms a socket is in (its own room and its device's are not streams). */
function streamsOf(socket: AnySocket): StreamName[] {
  return [...socket.rooms].filter((room): room is StreamName => isStreamName(room)).sort();
}

function isoOrNull(ms: number | undefined): string | null {
  return ms === undefined ? null : new Date(ms).toISOString();
}

function lagOf(head: number, received: number | null): number | null {
  return received === null ? null : head - received;
}

const byNodeThenSocket = (
  a: { node: string | null; socketId: string },
  b: { node: string | null; socketId: string },
): number => (a.node ?? '').localeCompare(b.node ?? '') || a.socketId.localeCompare(b.socketId);

/** The device's row, or `not_found`. */
async function requireDevice(db: Database, deviceId: string) {
  const device = await findDevice(db, deviceId);
  if (!device) throw new RealtimeError('not_found', `no device ${deviceId}`);
  return device;
}

/**
 * The stream inspector's routes, in the `/v1/admin` scope (behind its token; see
 * `registerAdminRoutes`), for a node that serves sockets:
 * - `GET /streams/:stream/subscribers` → {@link StreamSubscribersView}: every socket in the
 *   stream's room on every node (a socket joins it once its subscribe is live), with the seq its
 *   device acknowledged and its lag behind the stream's committed head;
 * - `GET /devices/:deviceId` → {@link DeviceView}: the device's row, its sockets on every node
 *   with their streams, and its presence in each of those streams;
 * - `POST /streams/:stream/resync` → {@link StreamResyncView} and `POST
 *   /devices/:deviceId/resync` → {@link DeviceResyncView}: `resync_required { reason:
 *   'operator_request', head }` to the stream's subscribers, or to every stream of the device's
 *   sockets, on every node.
 * A bad stream name or device id is `invalid_payload`; an unknown device is `not_found`.
 */
export function registerInspectorRoutes(admin: FastifyInstance, deps: InspectorDeps): void {
  const { io, db, presence } = deps;

  admin.get('/streams/:stream/subscribers', async (request): Promise<StreamSubscribersView> => {
    const { stream } = parsePayload('stream subscribers', streamParamsSchema, request.params);
    const [sockets, position] = await Promise.all([
      fetchRoom(io, stream),
      readStreamPosition(db, stream),
    ]);
    const subscribers = sockets
      .map((socket): SubscriberView => {
        const data = inspectedData(socket);
        const received = data.received?.[stream] ?? null;
        return {
          node: data.node ?? null,
          socketId: socket.id,
          userId: data.userId,
          deviceId: data.deviceId,
          connectedAt: data.connectedAt ?? null,
          received,
          lag: lagOf(position.head, received),
          reportedAt: isoOrNull(data.reportedAt),
        };
      })
      .sort(byNodeThenSocket);
    return { stream, head: position.head, subscribers };
  });

  admin.get('/devices/:deviceId', async (request): Promise<DeviceView> => {
    const { deviceId } = parsePayload('device', deviceParamsSchema, request.params);
    const [device, sockets] = await Promise.all([
      requireDevice(db, deviceId),
      fetchRoom(io, deviceRoom(deviceId)),
    ]);
    const streams = [...new Set(sockets.flatMap(streamsOf))].sort();
    const [positions, entries] = await Promise.all([
      readStreamPositions(db, streams),
      Promise.all(streams.map((stream) => presence.list(stream))),
    ]);
    const socketViews = sockets
      .map((socket): DeviceSocketView => {
        const data = inspectedData(socket);
        return {
          node: data.node ?? null,
          socketId: socket.id,
          connectedAt: data.connectedAt ?? null,
          reportedAt: isoOrNull(data.reportedAt),
          streams: streamsOf(socket).map((stream) => {
            const head = positions.get(stream)?.head ?? 0;
            const received = data.received?.[stream] ?? null;
            return { stream, head, received, lag: lagOf(head, received) };
          }),
        };
      })
      .sort(byNodeThenSocket);
    const presenceViews = streams.map((stream, index): DevicePresenceView => {
      const since = entries[index]!.map(parsePresenceEntry)
        .filter((entry) => entry.deviceId === deviceId)
        .map((entry) => entry.sinceMs);
      return {
        stream,
        online: since.length > 0,
        since: since.length > 0 ? new Date(Math.min(...since)).toISOString() : null,
      };
    });
    return {
      device: {
        id: device.id,
        userId: device.userId,
        name: device.name,
        createdAt: device.createdAt.toISOString(),
        revokedAt: device.revokedAt?.toISOString() ?? null,
        revoked: device.revokedAt !== null,
      },
      sockets: socketViews,
      presence: presenceViews,
    };
  });

  admin.post('/streams/:stream/resync', async (request): Promise<StreamResyncView> => {
    const { stream } = parsePayload('stream resync', streamParamsSchema, request.params);
    const [sockets, { head }] = await Promise.all([
      fetchRoom(io, stream),
      readStreamPosition(db, stream),
    ]);
    io.to(stream).emit(EVENTS.resyncRequired, { stream, reason: 'operator_request', head });
    request.log.info({ stream, head, sockets: sockets.length }, 'operator resync of a stream');
    return { stream, head, sockets: sockets.length };
  });

  admin.post('/devices/:deviceId/resync', async (request): Promise<DeviceResyncView> => {
    const { deviceId } = parsePayload('device resync', deviceParamsSchema, request.params);
    const [, sockets] = await Promise.all([
      requireDevice(db, deviceId),
      fetchRoom(io, deviceRoom(deviceId)),
    ]);
    const streams = [...new Set(sockets.flatMap(streamsOf))].sort();
    const positions = await readStreamPositions(db, streams);
    let told = 0;
    for (const socket of sockets) {
      const own = streamsOf(socket);
      for (const stream of own) {
        const head = positions.get(stream)?.head ?? 0;
        socket.emit(EVENTS.resyncRequired, { stream, reason: 'operator_request', head });
      }
      if (own.length > 0) told++;
    }
    request.log.info({ deviceId, sockets: told, streams }, 'operator resync of a device');
    return {
      deviceId,
      sockets: told,
      streams: streams.map((stream) => ({ stream, head: positions.get(stream)?.head ?? 0 })),
    };
  });
}
