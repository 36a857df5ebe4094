import { and, eq, isNull } from 'drizzle-orm';
import type { Database } from '../database.js';
import { inTransaction } from '../transaction.js';
import {
  conversationMembers,
  conversations,
  devices,
  users,
  workspaceMembers,
  workspaces,
} from '../schema/index.js';

export type User = typeof users.$inferSelect;
export type Device = typeof devices.$inferSelect;
export type Conversation = typeof conversations.$inferSelect;
export type Workspace = typeof workspaces.$inferSelect;

/** Inserts a user. */
export async function insertUser(db: Database, values: typeof users.$inferInsert): Promise<User> {
  const [row] = await db.insert(users).values(values).returning();
  return row!;
}

/** Inserts a user unless one with its id exists (concurrent callers all succeed). */
export async function insertUserIfMissing(
  db: Database,
  values: typeof users.$inferInsert,
): Promise<void> {
  await db.insert(users).values(values).onConflictDoNothing({ target: users.id });
}

/**
 * Inserts a device unless one with its id exists, and answers the device with that id: this one,
 * or the one a concurrent caller (or an earlier one) made, which may belong to another user.
 */
export async function insertDeviceIfMissing(
  db: Database,
  values: typeof devices.$inferInsert & { readonly id: string },
): Promise<Device> {
  const [inserted] = await db
    .insert(devices)
    .values(values)
    .onConflictDoNothing({ target: devices.id })
    .returning();
  return inserted ?? (await findDevice(db, values.id))!;
}

/** Inserts a device of a user. */
export async function insertDevice(
  db: Database,
  values: typeof devices.$inferInsert,
): Promise<Device> {
  const [row] = await db.insert(devices).values(values).returning();
  return row!;
}

/** Inserts a conversation and its members in one transaction. */
export async function insertConversation(
  db: Database,
  values: typeof conversations.$inferInsert,
  memberIds: readonly string[] = [],
): Promise<Conversation> {
  return inTransaction(db, async (tx) => {
    const [row] = await tx.insert(conversations).values(values).returning();
    if (memberIds.length > 0) {
      await tx
        .insert(conversationMembers)
        // Sorted, so concurrent inserts lock the members' user streams in one order.
        .values([...memberIds].sort().map((userId) => ({ conversationId: row!.id, userId })));
    }
    return row!;
  });
}

/** The user, if it exists. */
export async function findUser(db: Database, userId: string): Promise<User | undefined> {
  const [row] = await db.select().from(users).where(eq(users.id, userId));
  return row;
}

/** The device, revoked or not, if it exists. */
export async function findDevice(db: Database, deviceId: string): Promise<Device | undefined> {
  const [row] = await db.select().from(devices).where(eq(devices.id, deviceId));
  return row;
}

/** The device if it exists and is not revoked. */
export async function findActiveDevice(
  db: Database,
  deviceId: string,
): Promise<Device | undefined> {
  const [row] = await db
    .select()
    .from(devices)
    .where(and(eq(devices.id, deviceId), isNull(devices.revokedAt)));
  return row;
}

/** A device id as PostgreSQL's `uuid` reads it (any case); anything else names no device. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface DeviceRow {
  id: string;
  user_id: string;
  name: string;
  created_at: Date;
  revoked_at: Date | null;
}

/**
 * The devices among `deviceIds` that exist and are not revoked, by id (as given), in one
 * statement (so one snapshot), prepared once per connection. An id that is not a UUID, or
 * names no active device, is absent from the map.
 */
export async function findActiveDevices(
  db: Database,
  deviceIds: Iterable<string>,
): Promise<Map<string, Device>> {
  const found = new Map<string, Device>();
  const byKey = new Map<string, string[]>();
  for (const id of deviceIds) {
    if (!UUID.test(id)) continue;
    const key = id.toLowerCase();
    const given = byKey.get(key);
    if (given) given.push(id);
    else byKey.set(key, [id]);
  }
  if (byKey.size === 0) return found;
  const result = await db.$client.query<DeviceRow>({
    name: 'ccs-find-active-devices',
    text: `SELECT id, user_id, name, created_at, revoked_at FROM devices
           WHERE id = ANY($1::uuid[]) AND revoked_at IS NULL`,
    values: [[...byKey.keys()]],
  });
  for (const row of result.rows) {
    const device: Device = {
      id: row.id,
      userId: row.user_id,
      name: row.name,
      createdAt: row.created_at,
      revokedAt: row.revoked_at,
    };
    for (const id of byKey.get(row.id) ?? []) found.set(id, device);
  }
  return found;
}

/** Whether the user is a member of the conversation. */
export async function isConversationMember(
  db: Database,
  conversationId: string,
  userId: string,
): Promise<boolean> {
  const [row] = await db
    .select({ userId: conversationMembers.userId })
    .from(conversationMembers)
    .where(
      and(
        eq(conversationMembers.conversationId, conversationId),
        eq(conversationMembers.userId, userId),
      ),
    );
  return row !== undefined;
}

/** Inserts a workspace and its members in one transaction. */
export async function insertWorkspace(
  db: Database,
  values: typeof workspaces.$inferInsert,
  memberIds: readonly string[] = [],
): Promise<Workspace> {
  return inTransaction(db, async (tx) => {
    const [row] = await tx.insert(workspaces).values(values).returning();
    if (memberIds.length > 0) {
      await tx
        .insert(workspaceMembers)
        .values([...memberIds].sort().map((userId) => ({ workspaceId: row!.id, userId })));
    }
    return row!;
  });
}

/** Whether the user is a member of the workspace. */
export async function isWorkspaceMember(
  db: Database,
  workspaceId: string,
  userId: string,
): Promise<boolean> {
  const [row] = await db
    .select({ userId: workspaceMembers.userId })
    .from(workspaceMembers)
    .where(and(eq(workspaceMembers.workspaceId, workspaceId), eq(workspaceMembers.userId, userId)));
  return row !== undefined;
}
