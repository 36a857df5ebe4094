import { and, eq, inArray, isNull, or, sql } from 'drizzle-orm';
import type { SavedTailPosition } from '../change-tail.js';
import type { Database } from '../database.js';
import {
  changeTailPositions,
  conversationMembers,
  webhookDeliveries,
  webhookEndpoints,
} from '../schema/index.js';

/** A webhook endpoint: a user's (`userId`) or the app's (`userId` null). */
export type WebhookEndpoint = typeof webhookEndpoints.$inferSelect;

/** Who an endpoint belongs to: a user, or the app (`null`). */
export interface WebhookOwner {
  readonly userId: string | null;
}

/** Adds an endpoint; the secret signs every body POSTed to it. */
export async function insertWebhookEndpoint(
  db: Database,
  input: WebhookOwner & { readonly url: string; readonly secret: string },
): Promise<WebhookEndpoint> {
  const [row] = await db.insert(webhookEndpoints).values(input).returning();
  return row!;
}

const ownedBy = (owner: WebhookOwner) =>
  owner.userId === null
    ? isNull(webhookEndpoints.userId)
    : eq(webhookEndpoints.userId, owner.userId);

/** The endpoints of one owner, oldest first. */
export async function listWebhookEndpoints(
  db: Database,
  owner: WebhookOwner,
): Promise<WebhookEndpoint[]> {
  return db
    .select()
    .from(webhookEndpoints)
    .where(ownedBy(owner))
    .orderBy(webhookEndpoints.createdAt, webhookEndpoints.id);
}

/** Removes an endpoint of this owner (with its delivery records); false when it has none such. */
export async function deleteWebhookEndpoint(
  db: Database,
  owner: WebhookOwner & { readonly id: string },
): Promise<boolean> {
  const removed = await db
    .delete(webhookEndpoints)
    .where(and(eq(webhookEndpoints.id, owner.id), ownedBy(owner)))
    .returning({ id: webhookEndpoints.id });
  return removed.length > 0;
}

/** One endpoint by id, or undefined once deleted. */
export async function findWebhookEndpoint(
  db: Database,
  id: string,
): Promise<WebhookEndpoint | undefined> {
  const [row] = await db.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, id));
  return row;
}

/** The endpoints that notify these users: each user's own, and every app endpoint. */
export async function findRecipientEndpoints(
  db: Database,
  userIds: readonly string[],
): Promise<WebhookEndpoint[]> {
  return db
    .select()
    .from(webhookEndpoints)
    .where(
      userIds.length === 0
        ? isNull(webhookEndpoints.userId)
        : or(isNull(webhookEndpoints.userId), inArray(webhookEndpoints.userId, [...userIds])),
    );
}

/** The members of each conversation given, in one query. */
export async function readConversationMembers(
  db: Database,
  conversationIds: readonly string[],
): Promise<Map<string, string[]>> {
  const members = new Map<string, string[]>(conversationIds.map((id) => [id, []]));
  if (conversationIds.length === 0) return members;
  const rows = await db
    .select({
      conversationId: conversationMembers.conversationId,
      userId: conversationMembers.userId,
    })
    .from(conversationMembers)
    .where(inArray(conversationMembers.conversationId, [...conversationIds]));
  for (const row of rows) members.get(row.conversationId)?.push(row.userId);
  return members;
}

/** What identifies one notification: a change, a recipient, an endpoint. */
export interface WebhookDeliveryKey {
  readonly endpointId: string;
  readonly stream: string;
  readonly seq: number;
  readonly recipientId: string;
}

/** A recorded outcome of one notification. */
export type WebhookDelivery = typeof webhookDeliveries.$inferSelect;

const deliveryIs = (key: WebhookDeliveryKey) =>
  and(
    eq(webhookDeliveries.endpointId, key.endpointId),
    eq(webhookDeliveries.stream, key.stream),
    eq(webhookDeliveries.seq, key.seq),
    eq(webhookDeliveries.recipientId, key.recipientId),
  );

/** The recorded outcome of a notification, if any. */
export async function findWebhookDelivery(
  db: Database,
  key: WebhookDeliveryKey,
): Promise<WebhookDelivery | undefined> {
  const [row] = await db.select().from(webhookDeliveries).where(deliveryIs(key));
  return row;
}

/**
 * Records a notification's outcome. A `delivered` one is final: a later `failed` (a retry that
 * raced it) never overwrites it.
 */
export async function recordWebhookDelivery(
  db: Database,
  delivery: WebhookDeliveryKey & {
    readonly status: 'delivered' | 'failed';
    readonly attempts: number;
    readonly responseStatus: number | null;
    readonly lastError: string | null;
  },
): Promise<void> {
  await db
    .insert(webhookDeliveries)
    .values(delivery)
    .onConflictDoUpdate({
      target: [
        webhookDeliveries.endpointId,
        webhookDeliveries.stream,
        webhookDeliveries.seq,
        webhookDeliveries.recipientId,
      ],
      set: {
        status: delivery.status,
        attempts: delivery.attempts,
        responseStatus: delivery.responseStatus,
        lastError: delivery.lastError,
        updatedAt: sql`now()`,
      },
      setWhere: sql`${webhookDeliveries.status} <> 'delivered'`,
    });
}

/** A saved change_log reader position, or undefined when none was saved under this name. */
export async function readTailPosition(
  db: Database,
  name: string,
): Promise<SavedTailPosition | undefined> {
  const [row] = await db
    .select({ position: changeTailPositions.position })
    .from(changeTailPositions)
    .where(eq(changeTailPositions.name, name));
  return row?.position as SavedTailPosition | undefined;
}

/** Saves a change_log reader position under a name. */
export async function saveTailPosition(
  db: Database,
  name: string,
  position: SavedTailPosition,
): Promise<void> {
  await db
    .insert(changeTailPositions)
    .values({ name, position })
    .onConflictDoUpdate({
      target: changeTailPositions.name,
      set: { position, updatedAt: sql`now()` },
    });
}
