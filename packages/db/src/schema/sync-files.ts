import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  check,
  customType,
  index,
  integer,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { devices } from './directory.js';
import { workspaces } from './workspaces.js';

const bytea = customType<{ data: Buffer; driverData: Buffer }>({ dataType: () => 'bytea' });

/**
 * File contents, stored once per content hash (content-addressed): two files, or two versions,
 * with the same bytes share one row. The hash is the SHA-256 of the bytes, in lowercase hex.
 */
export const fileContents = pgTable(
  'file_contents',
  {
    hash: text('hash').primaryKey(),
    sizeBytes: bigint('size_bytes', { mode: 'number' }).notNull(),
    content: bytea('content').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [check('file_contents_hash_shape', sql`${table.hash} ~ '^[0-9a-f]{64}$'`)],
);

/**
 * Which workspace received which content: a file change may only name content uploaded into its
 * own workspace. Contents are stored once, but knowing a hash gives no access to bytes another
 * workspace uploaded, and whether anyone else has uploaded some content stays unknown.
 */
export const workspaceContents = pgTable(
  'workspace_contents',
  {
    workspaceId: uuid('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    hash: text('hash')
      .notNull()
      .references(() => fileContents.hash),
    uploadedAt: timestamp('uploaded_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [primaryKey({ columns: [table.workspaceId, table.hash] })],
);

/**
 * The files of a file-sync workspace. Every applied change bumps `version` (compare-and-set:
 * a device's change names the version it saw); a delete keeps the row with `deleted` set, so a
 * device that saw the file learns that it went. At most one live file per path.
 */
export const syncFiles = pgTable(
  'sync_files',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    workspaceId: uuid('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    path: text('path').notNull(),
    sizeBytes: bigint('size_bytes', { mode: 'number' }).notNull(),
    contentHash: text('content_hash')
      .notNull()
      .references(() => fileContents.hash),
    version: integer('version').notNull().default(1),
    deleted: boolean('deleted').notNull().default(false),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
    /** The device whose change made this version; null once that device is deleted. */
    updatedByDeviceId: uuid('updated_by_device_id').references(() => devices.id, {
      onDelete: 'set null',
    }),
  },
  (table) => [
    uniqueIndex('sync_files_live_path_uidx')
      .on(table.workspaceId, table.path)
      .where(sql`NOT ${table.deleted}`),
    index('sync_files_workspace_idx').on(table.workspaceId),
  ],
);
