import { sql } from 'drizzle-orm';
import {
  bigint,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uuid,
} from 'drizzle-orm/pg-core';
import { users } from './directory.js';

/**
 * Where offline notifications are POSTed: a user's own endpoint (`user_id` set), or an app's,
 * which gets every offline recipient's notifications (`user_id` null). `secret` signs each body.
 * Not a synced table: no change is captured from it.
 */
export const webhookEndpoints = pgTable(
  'webhook_endpoints',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: uuid('user_id').references(() => users.id, { onDelete: 'cascade' }),
    url: text('url').notNull(),
    secret: text('secret').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [index('webhook_endpoints_user_id_idx').on(table.userId)],
);

/**
 * The outcome of notifying one recipient of one change at one endpoint: written once a POST is
 * answered 2xx (so a retried job never notifies twice) or once its last attempt failed.
 */
export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    endpointId: uuid('endpoint_id')
      .notNull()
      .references(() => webhookEndpoints.id, { onDelete: 'cascade' }),
    stream: text('stream').notNull(),
    seq: bigint('seq', { mode: 'number' }).notNull(),
    recipientId: uuid('recipient_id').notNull(),
    /** `delivered` or `failed`. */
    status: text('status').notNull(),
    attempts: integer('attempts').notNull(),
    /** HTTP status of the last answer; null when none came (refused, timed out). */
    responseStatus: integer('response_status'),
    lastError: text('last_error'),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    primaryKey({
      columns: [table.endpointId, table.stream, table.seq, table.recipientId],
    }),
  ],
);

/**
 * How far a background reader of change_log (the jobs' change dispatcher) has read: a
 * `ChangeTail` position, saved after what it read was handed on, so a restart goes on from there.
 */
export const changeTailPositions = pgTable('change_tail_positions', {
  name: text('name').primaryKey(),
  position: jsonb('position').notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true })
    .notNull()
    .default(sql`now()`),
});
