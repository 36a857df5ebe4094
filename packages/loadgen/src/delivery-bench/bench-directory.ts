import type { Database } from '@ccs/db';
import { seedMemberConversations, seedPopulation } from '@ccs/fixtures';
import { signDeviceToken, type StreamName } from '@ccs/protocol';
import type { ClientDevice } from './bench-ipc.js';

/** Shape of the simulated population. */
export interface BenchDirectoryOptions {
  readonly conversations: number;
  readonly usersPerConversation: number;
  readonly devicesPerUser: number;
  readonly jwtSecret: string;
}

/** A conversation of the bench and who may write to it. */
export interface BenchConversation {
  readonly id: string;
  readonly stream: StreamName;
  /** The member whose device the CCS writer writes as. */
  readonly authorId: string;
  readonly deviceId: string;
  /** Devices subscribed to the stream (every device of every member). */
  readonly subscribers: number;
}

/** The seeded population: conversations, and one client per device. */
export interface BenchDirectory {
  readonly conversations: readonly BenchConversation[];
  readonly devices: readonly ClientDevice[];
}

/** Every bench token outlives the run. */
const TOKEN_LIFETIME = '1h';

/**
 * Seeds the bench's population (`@ccs/fixtures`' `seedPopulation`: each conversation has its
 * own users, so every device subscribes to exactly one conversation) and signs a handshake token
 * for every device.
 */
export async function seedBenchDirectory(
  db: Database,
  options: BenchDirectoryOptions,
): Promise<BenchDirectory> {
  const population = await seedPopulation(db, {
    conversations: options.conversations,
    usersPerConversation: options.usersPerConversation,
    devicesPerUser: options.devicesPerUser,
    namespace: 'bench',
  });
  const devices: ClientDevice[] = [];
  for (const device of population.devices) {
    devices.push({
      token: await signDeviceToken(
        { userId: device.userId, deviceId: device.id },
        { secret: options.jwtSecret, expiresIn: TOKEN_LIFETIME },
      ),
      stream: device.stream,
    });
  }
  return {
    devices,
    conversations: population.conversations.map((conversation) => ({
      id: conversation.id,
      stream: conversation.stream,
      // Devices are listed member by member: the first one is the first member's.
      authorId: conversation.userIds[0]!,
      deviceId: conversation.deviceIds[0]!,
      subscribers: conversation.deviceIds.length,
    })),
  };
}

/** Streams one extra device may subscribe to, to grow what the gateway tracks. */
export interface HeldStreams {
  /** Handshake token of the extra device (its user is a member of every stream below). */
  readonly token: string;
  readonly streams: readonly StreamName[];
}

/**
 * Seeds `count` more conversations whose only member is one extra user, with a device of that
 * user. Nothing is written to them during the loads: subscribed, they only make the gateway
 * track more streams.
 */
export async function seedHeldStreams(
  db: Database,
  options: { readonly count: number; readonly jwtSecret: string },
): Promise<HeldStreams> {
  // The holder's own population brings its first conversation.
  const holder = await seedPopulation(db, {
    conversations: 1,
    usersPerConversation: 1,
    devicesPerUser: 1,
    namespace: 'bench-holder',
  });
  const device = holder.devices[0]!;
  const more = await seedMemberConversations(
    db,
    { userId: device.userId, deviceIds: [device.id] },
    { conversations: Math.max(0, options.count - 1), namespace: 'bench-held' },
  );
  return {
    token: await signDeviceToken(
      { userId: device.userId, deviceId: device.id },
      { secret: options.jwtSecret, expiresIn: TOKEN_LIFETIME },
    ),
    streams: [device.stream, ...more.map((conversation) => conversation.stream)].slice(
      0,
      options.count,
    ),
  };
}
