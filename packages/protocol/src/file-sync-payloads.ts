import { z } from 'zod';
import { idSchema } from './payloads.js';

/** Longest file path, in characters. */
export const MAX_FILE_PATH_LENGTH = 1024;

/** A SHA-256 in lowercase hex: how file contents are named. */
export const contentHashSchema = z
  .string()
  .toLowerCase()
  .regex(/^[0-9a-f]{64}$/, { message: 'expected a SHA-256 in hex (64 characters)' });

/**
 * A file's path in its workspace: relative, `/`-separated, without empty, `.` or `..` segments,
 * control characters or backslashes, so every device maps it to the same place.
 */
export const filePathSchema = z
  .string()
  .min(1)
  .max(MAX_FILE_PATH_LENGTH)
  .refine(
    (path) =>
      !/[\p{Cc}\\]/u.test(path) &&
      !/\p{Surrogate}/u.test(path) &&
      path.split('/').every((segment) => segment !== '' && segment !== '.' && segment !== '..'),
    {
      message:
        'expected a relative path such as "notes/today.md": no leading or doubled "/", no "." or "..", no control characters or backslashes',
    },
  );

const version = z.number().int().min(1);

/**
 * One change a device pushes to a workspace's file. Every change but `create` names the
 * version it was made against (`baseVersion`): it applies only while the file is still at that
 * version (compare-and-set), otherwise the answer is `conflict` with the file's current version.
 * Contents are uploaded first (`PUT /v1/workspaces/:id/contents/:hash`) and named by hash.
 */
export const filePushPayloadSchema = z.discriminatedUnion('op', [
  z.strictObject({
    op: z.literal('create'),
    workspaceId: idSchema,
    path: filePathSchema,
    contentHash: contentHashSchema,
  }),
  z.strictObject({
    op: z.literal('update'),
    workspaceId: idSchema,
    fileId: idSchema,
    baseVersion: version,
    contentHash: contentHashSchema,
  }),
  z.strictObject({
    op: z.literal('move'),
    workspaceId: idSchema,
    fileId: idSchema,
    baseVersion: version,
    path: filePathSchema,
  }),
  z.strictObject({
    op: z.literal('delete'),
    workspaceId: idSchema,
    fileId: idSchema,
    baseVersion: version,
  }),
]);
export type FilePushPayload = z.infer<typeof filePushPayloadSchema>;
export type FilePushOp = FilePushPayload['op'];
