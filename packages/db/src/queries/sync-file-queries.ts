import { createHash } from 'node:crypto';
import type { FilePushPayload, FileVersion, SyncFileData } from '@ccs/protocol';
import { sql } from 'drizzle-orm';
import { toEntityData } from '../change-event-mapper.js';
import type { Database } from '../database.js';
import { DbError } from '../db-error.js';
import { PG_ERROR, pgErrorCode } from '../pg-error-codes.js';
import { inTransaction, type Transaction } from '../transaction.js';
import {
  requireMember,
  streamOf,
  writeOutcome,
  type Actor,
  type WriteOutcome,
} from './write-context.js';

/** A `conflict` of a file change: the file as it is now, to rebase the change on. */
export class FileConflictError extends DbError {
  constructor(
    message: string,
    /** Absent when the file does not exist at all. */
    readonly current: FileVersion | undefined,
  ) {
    super('conflict', message, { current });
  }
}

/** What {@link pushFileChange} answers: the file as the change left it. */
export interface FileChangeOutcome extends WriteOutcome {
  readonly file: SyncFileData;
}

type FileRow = { row: Record<string, unknown> };

const toVersion = (file: SyncFileData): FileVersion => ({
  fileId: file.id,
  path: file.path,
  version: file.version,
  contentHash: file.contentHash,
  deleted: file.deleted,
});

/**
 * Applies one device's change to a workspace file (the actor must be a member), as a
 * compare-and-set: `update`, `move` and `delete` apply only while the file is still at
 * `baseVersion` and not deleted, `create` only while no live file has the path. Otherwise
 * nothing is written and a {@link FileConflictError} carries the file as it is (for a create or
 * a move onto a path a live file has: that file). Contents must
 * have been stored first ({@link storeFileContent}); an unknown hash is `not_found`.
 */
export async function pushFileChange(
  db: Database,
  actor: Actor,
  change: FilePushPayload,
): Promise<FileChangeOutcome> {
  const { workspaceId } = change;
  return inTransaction(db, async (tx) => {
    await requireMember(tx, 'workspace', workspaceId, actor.userId, true);
    const size =
      'contentHash' in change ? await contentSize(tx, workspaceId, change.contentHash) : undefined;
    let applied: FileRow | undefined;
    if (change.op === 'create') {
      const inserted = await tx.execute<FileRow>(
        sql`INSERT INTO sync_files AS f
                (workspace_id, path, size_bytes, content_hash, updated_by_device_id)
              VALUES (${workspaceId}::uuid, ${change.path}, ${size}, ${change.contentHash},
                      ${actor.deviceId}::uuid)
              ON CONFLICT (workspace_id, path) WHERE NOT deleted DO NOTHING
              RETURNING to_jsonb(f) AS row`,
      );
      applied = inserted.rows[0];
      if (!applied) {
        const current = await liveFileAt(tx, workspaceId, change.path);
        throw new FileConflictError(
          `${change.path} already exists (version ${current?.version ?? '?'}); update it with that baseVersion instead`,
          current && toVersion(current),
        );
      }
    } else {
      const set =
        change.op === 'update'
          ? sql`content_hash = ${change.contentHash}, size_bytes = ${size}`
          : change.op === 'move'
            ? sql`path = ${change.path}`
            : sql`deleted = true`;
      // A move onto a live file's path fails the unique index; back to here to read that file.
      if (change.op === 'move') await tx.execute(sql`SAVEPOINT ccs_file_move`);
      const updated = await tx
        .execute<FileRow>(
          sql`UPDATE sync_files AS f
              SET ${set}, version = version + 1, updated_at = now(),
                  updated_by_device_id = ${actor.deviceId}::uuid
              WHERE id = ${change.fileId}::uuid AND workspace_id = ${workspaceId}::uuid
                AND version = ${change.baseVersion} AND NOT deleted
              RETURNING to_jsonb(f) AS row`,
        )
        .catch(async (error: unknown) => {
          if (change.op === 'move' && pgErrorCode(error) === PG_ERROR.uniqueViolation) {
            await tx.execute(sql`ROLLBACK TO SAVEPOINT ccs_file_move`);
            const occupant = await liveFileAt(tx, workspaceId, change.path);
            throw new FileConflictError(
              `${change.path} already exists in the workspace (file ${occupant?.id ?? '?'}); move the file elsewhere or delete that one first`,
              occupant && toVersion(occupant),
            );
          }
          throw error;
        });
      applied = updated.rows[0];
      if (!applied) throw await staleChange(tx, workspaceId, change.fileId, change.baseVersion);
    }
    const file = toEntityData('sync_file', applied.row);
    return { file, ...(await writeOutcome(tx, streamOf('workspace', workspaceId))) };
  });
}

/** The live (not deleted) file at `path`, if there is one. */
async function liveFileAt(
  tx: Transaction,
  workspaceId: string,
  path: string,
): Promise<SyncFileData | undefined> {
  const live = await tx.execute<FileRow>(
    sql`SELECT to_jsonb(f) AS row FROM sync_files f
        WHERE workspace_id = ${workspaceId}::uuid AND path = ${path} AND NOT deleted`,
  );
  return live.rows[0] && toEntityData('sync_file', live.rows[0].row);
}

/** Why a compare-and-set matched no row: the file is gone, deleted, or at another version. */
async function staleChange(
  tx: Transaction,
  workspaceId: string,
  fileId: string,
  baseVersion: number,
): Promise<DbError> {
  const found = await tx.execute<FileRow>(
    sql`SELECT to_jsonb(f) AS row FROM sync_files f
        WHERE id = ${fileId}::uuid AND workspace_id = ${workspaceId}::uuid`,
  );
  if (!found.rows[0]) {
    return new DbError('not_found', `file ${fileId} is not in workspace ${workspaceId}`, {
      fileId,
      workspaceId,
    });
  }
  const current = toEntityData('sync_file', found.rows[0].row);
  return new FileConflictError(
    current.deleted
      ? `file ${fileId} was deleted (version ${current.version}); create it again to keep your change`
      : `file ${fileId} is at version ${current.version}, not ${baseVersion}; rebase your change on it`,
    toVersion(current),
  );
}

/**
 * The size of content uploaded into the workspace, or `not_found` when it was not (whether or
 * not another workspace has it).
 */
async function contentSize(tx: Transaction, workspaceId: string, hash: string): Promise<number> {
  const result = await tx.execute<{ size_bytes: string }>(
    sql`SELECT c.size_bytes FROM workspace_contents w JOIN file_contents c USING (hash)
        WHERE w.workspace_id = ${workspaceId}::uuid AND w.hash = ${hash}`,
  );
  const row = result.rows[0];
  if (!row) {
    throw new DbError(
      'not_found',
      `content ${hash} was not uploaded to workspace ${workspaceId}; upload it first (PUT /v1/workspaces/${workspaceId}/contents/${hash})`,
      { workspaceId, hash },
    );
  }
  return Number(row.size_bytes);
}

/**
 * Stores content into a workspace the actor is a member of, after checking that `hash` is the
 * SHA-256 of `content` (else `invalid_input`): the bytes once per hash whichever workspaces
 * upload them, and the workspace's right to name them in its files. Storing the same bytes
 * again writes nothing.
 */
export async function storeFileContent(
  db: Database,
  actor: Actor,
  workspaceId: string,
  hash: string,
  content: Buffer,
): Promise<{ readonly hash: string; readonly sizeBytes: number }> {
  const actual = createHash('sha256').update(content).digest('hex');
  if (actual !== hash) {
    throw new DbError(
      'invalid_input',
      `the content's SHA-256 is ${actual}, not ${hash}; upload it under its own hash`,
      { hash, actual },
    );
  }
  await inTransaction(db, async (tx) => {
    await requireMember(tx, 'workspace', workspaceId, actor.userId);
    await tx.execute(
      sql`INSERT INTO file_contents (hash, size_bytes, content)
          VALUES (${hash}, ${content.length}, ${content}) ON CONFLICT (hash) DO NOTHING`,
    );
    await tx.execute(
      sql`INSERT INTO workspace_contents (workspace_id, hash)
          VALUES (${workspaceId}::uuid, ${hash}) ON CONFLICT DO NOTHING`,
    );
  });
  return { hash, sizeBytes: content.length };
}

/**
 * Content a file of the workspace has (or had) for a member of it; `not_found` when no file of
 * the workspace refers to that hash.
 */
export async function readFileContent(
  db: Database,
  actor: Actor,
  workspaceId: string,
  hash: string,
): Promise<Buffer> {
  await requireMember(db, 'workspace', workspaceId, actor.userId);
  const result = await db.execute<{ content: Buffer }>(
    sql`SELECT c.content FROM file_contents c
        WHERE c.hash = ${hash} AND EXISTS (
          SELECT 1 FROM sync_files f WHERE f.workspace_id = ${workspaceId}::uuid AND f.content_hash = c.hash)`,
  );
  const row = result.rows[0];
  if (!row) {
    throw new DbError('not_found', `no file of workspace ${workspaceId} has content ${hash}`, {
      workspaceId,
      hash,
    });
  }
  return row.content;
}
