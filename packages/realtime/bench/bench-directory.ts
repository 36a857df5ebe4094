import { signDeviceToken, streamName, type StreamName } from '@ccs/protocol';
import type pg from 'pg';
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

/**
 * Seeds users, their devices and conversations in a few set-based statements (the fixtures'
 * one-row factories would take seconds for a thousand devices). Each conversation has its own
 * users, so every device subscribes to exactly one conversation.
 */
export async function seedBenchDirectory(
  pool: pg.Pool,
  options: BenchDirectoryOptions,
): Promise<BenchDirectory> {
  const userCount = options.conversations * options.usersPerConversation;
  const users = await pool.query<{ id: string }>(
    `INSERT INTO users (name) SELECT 'bench-user-' || g FROM generate_series(1, $1::int) g
     RETURNING id`,
    [userCount],
  );
  const userIds = users.rows.map((row) => row.id);
  const devices = await pool.query<{ id: string; user_id: string }>(
    `INSERT INTO devices (user_id, name)
     SELECT u, 'bench-device-' || d FROM unnest($1::uuid[]) u, generate_series(1, $2::int) d
     RETURNING id, user_id`,
    [userIds, options.devicesPerUser],
  );
  const conversations = await pool.query<{ id: string }>(
    `INSERT INTO conversations (title)
     SELECT 'bench-conversation-' || g FROM generate_series(1, $1::int) g RETURNING id`,
    [options.conversations],
  );
  const conversationIds = conversations.rows.map((row) => row.id);
  const memberConversation = userIds.map(
    (_, index) => conversationIds[Math.floor(index / options.usersPerConversation)]!,
  );
  await pool.query(
    `INSERT INTO conversation_members (conversation_id, user_id)
     SELECT * FROM unnest($1::uuid[], $2::uuid[])`,
    [memberConversation, userIds],
  );

  const conversationOfUser = new Map(userIds.map((id, index) => [id, memberConversation[index]!]));
  const firstDeviceOfUser = new Map<string, string>();
  const clients: ClientDevice[] = [];
  for (const device of devices.rows) {
    if (!firstDeviceOfUser.has(device.user_id)) firstDeviceOfUser.set(device.user_id, device.id);
    const token = await signDeviceToken(
      { userId: device.user_id, deviceId: device.id },
      { secret: options.jwtSecret, expiresIn: '1h' },
    );
    clients.push({
      token,
      stream: streamName('conversation', conversationOfUser.get(device.user_id)!),
    });
  }
  return {
    devices: clients,
    conversations: conversationIds.map((id, index) => {
      const authorId = userIds[index * options.usersPerConversation]!;
      return {
        id,
        stream: streamName('conversation', id),
        authorId,
        deviceId: firstDeviceOfUser.get(authorId)!,
        subscribers: options.usersPerConversation * options.devicesPerUser,
      };
    }),
  };
}

/** Streams one extra device may subscribe to, to grow what the gateway tracks. */
export interface HeldStreams {
  /** Handshake token of the extra device (its user is a member of every stream below). */
  readonly token: string;
  readonly streams: readonly StreamName[];
}

/**
 * Seeds `count` more conversations with one extra user as their only member, and a device of
 * that user. Nothing is written to them during the loads: subscribed, they only make the gateway
 * track more streams.
 */
export async function seedHeldStreams(
  pool: pg.Pool,
  options: { readonly count: number; readonly jwtSecret: string },
): Promise<HeldStreams> {
  const user = await pool.query<{ id: string }>(
    `INSERT INTO users (name) VALUES ('bench-holder') RETURNING id`,
  );
  const userId = user.rows[0]!.id;
  const device = await pool.query<{ id: string }>(
    `INSERT INTO devices (user_id, name) VALUES ($1, 'bench-holder-device') RETURNING id`,
    [userId],
  );
  const conversations = await pool.query<{ id: string }>(
    `WITH created AS (
       INSERT INTO conversations (title)
       SELECT 'bench-held-' || g FROM generate_series(1, $1::int) g RETURNING id
     ), joined AS (
       INSERT INTO conversation_members (conversation_id, user_id)
       SELECT id, $2::uuid FROM created
     )
     SELECT id FROM created`,
    [options.count, userId],
  );
  return {
    token: await signDeviceToken(
      { userId, deviceId: device.rows[0]!.id },
      { secret: options.jwtSecret, expiresIn: '1h' },
    ),
    streams: conversations.rows.map((row) => streamName('conversation', row.id)),
  };
}
