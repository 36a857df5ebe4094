import { sql } from 'drizzle-orm';
import type { Database } from '../database.js';
import { DbError } from '../db-error.js';
import { PG_ERROR, pgErrorCode } from '../pg-error-codes.js';
import { inTransaction } from '../transaction.js';
import {
  CONTAINERS,
  readHead,
  requireMember,
  streamOf,
  writeOutcome,
  type Actor,
  type MemberContainer,
  type WriteOutcome,
} from './write-context.js';

/** What a create answers: the container's id and its stream's head. */
export interface CreateOutcome extends WriteOutcome {
  readonly id: string;
}

/** What {@link createContainer} writes. */
export interface CreateContainerInput {
  /** Chosen by the creating device: a retry with the same id creates nothing more. */
  readonly clientId: string;
  /** The title of a conversation, the name of a workspace. */
  readonly label: string;
  /** Members besides the creator. */
  readonly memberIds?: readonly string[];
}

const LABEL_COLUMN = {
  conversation: sql.identifier('title'),
  workspace: sql.identifier('name'),
} as const;

/**
 * Creates a conversation or workspace whose members are the actor and `memberIds`, in one
 * transaction; idempotent on (actor's device, client id): a retry answers the existing one.
 * A member that does not exist is `not_found`, and nothing is written.
 */
export async function createContainer(
  db: Database,
  kind: MemberContainer,
  actor: Actor,
  input: CreateContainerInput,
): Promise<CreateOutcome> {
  const { table, members, key } = CONTAINERS[kind];
  const memberIds = [...new Set([actor.userId, ...(input.memberIds ?? [])])].sort();
  const created = await inTransaction(db, async (tx) => {
    const inserted = await tx.execute<{ id: string }>(
      sql`INSERT INTO ${table} (${LABEL_COLUMN[kind]}, creator_device_id, client_id)
          VALUES (${input.label}, ${actor.deviceId}::uuid, ${input.clientId})
          ON CONFLICT (creator_device_id, client_id) DO NOTHING
          RETURNING id`,
    );
    const id = inserted.rows[0]?.id;
    if (id === undefined) return undefined;
    // Sorted: concurrent creates lock the members' user streams in one order.
    await tx.execute(
      sql`INSERT INTO ${members} (${key}, user_id)
          SELECT ${id}::uuid, member FROM unnest(${`{${memberIds.join(',')}}`}::uuid[]) AS member
          ORDER BY member`,
    );
    return { id, ...(await writeOutcome(tx, streamOf(kind, id))) };
  }).catch((error: unknown) => {
    if (pgErrorCode(error) === PG_ERROR.foreignKeyViolation) {
      throw new DbError(
        'not_found',
        `one of the members (${memberIds.join(', ')}) does not exist; nothing was created`,
        { kind, memberIds },
        { cause: error },
      );
    }
    throw error;
  });
  if (created) return created;
  const existing = await db.execute<{ id: string }>(
    sql`SELECT id FROM ${table} WHERE creator_device_id = ${actor.deviceId}::uuid
        AND client_id = ${input.clientId}`,
  );
  const id = existing.rows[0]?.id;
  if (id === undefined) {
    throw new DbError(
      'conflict',
      `${kind} with client id ${input.clientId} was created and removed meanwhile; create it with a new client id`,
      { kind, clientId: input.clientId },
    );
  }
  const stream = streamOf(kind, id);
  return { id, stream, seq: await readHead(db, stream) };
}

/**
 * Adds `userId` to a container the actor is a member of, or removes them (the actor itself:
 * leaving). Adding a member twice, or removing a non-member, changes nothing; adding a user
 * that does not exist is `not_found`. A removed user's devices lose the stream with this change
 * (every gateway reads it like any other).
 */
export async function changeMembership(
  db: Database,
  kind: MemberContainer,
  actor: Actor,
  id: string,
  change: { readonly userId: string; readonly member: boolean },
): Promise<WriteOutcome> {
  const { members, key } = CONTAINERS[kind];
  const { userId } = change;
  return inTransaction(db, async (tx) => {
    // The actor's membership is share-locked: its own removal waits for this change.
    await requireMember(tx, kind, id, actor.userId, true);
    await tx.execute(
      change.member
        ? sql`INSERT INTO ${members} (${key}, user_id) VALUES (${id}::uuid, ${userId}::uuid)
              ON CONFLICT DO NOTHING`
        : sql`DELETE FROM ${members} WHERE ${key} = ${id}::uuid AND user_id = ${userId}::uuid`,
    );
    return writeOutcome(tx, streamOf(kind, id));
  }).catch((error: unknown) => {
    if (pgErrorCode(error) === PG_ERROR.foreignKeyViolation) {
      throw new DbError('not_found', `user ${userId} does not exist`, { userId }, { cause: error });
    }
    throw error;
  });
}

/** Renames a conversation or workspace the actor is a member of. */
export async function renameContainer(
  db: Database,
  kind: MemberContainer,
  actor: Actor,
  id: string,
  label: string,
): Promise<WriteOutcome> {
  const { table } = CONTAINERS[kind];
  return inTransaction(db, async (tx) => {
    await requireMember(tx, kind, id, actor.userId, true);
    await tx.execute(
      sql`UPDATE ${table} SET ${LABEL_COLUMN[kind]} = ${label} WHERE id = ${id}::uuid`,
    );
    return writeOutcome(tx, streamOf(kind, id));
  });
}
