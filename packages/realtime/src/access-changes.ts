import { isChangeOf, streamName, type ChangeEvent, type StreamName } from '@ccs/protocol';

/** What a committed change takes away from whom. */
export type AccessLoss =
  /** `userId` (every reader when undefined) may no longer read `stream`. */
  | { readonly scope: 'stream'; readonly stream: StreamName; readonly userId: string | undefined }
  /** The device was revoked or deleted: its sockets must go. */
  | { readonly scope: 'device'; readonly deviceId: string }
  /** The user was deleted: all their sockets must go. */
  | { readonly scope: 'user'; readonly userId: string };

/**
 * The access a change ends, if any: a member removed (on the conversation's or workspace's own
 * stream), a conversation or workspace deleted, a device revoked or deleted, a user deleted.
 * Whoever wrote the change (the gateway, psql, a job), every gateway reads it from the log.
 */
export function accessLostBy(change: ChangeEvent): AccessLoss | undefined {
  if (isChangeOf(change, 'device')) {
    const revoked = change.kind === 'device.deleted' || change.data.revokedAt !== null;
    return revoked ? { scope: 'device', deviceId: change.data.id } : undefined;
  }
  if (!change.kind.endsWith('.deleted')) return undefined;
  if (isChangeOf(change, 'conversation_member')) {
    return streamLoss(
      change,
      streamName('conversation', change.data.conversationId),
      change.data.userId,
    );
  }
  if (isChangeOf(change, 'workspace_member')) {
    return streamLoss(change, streamName('workspace', change.data.workspaceId), change.data.userId);
  }
  if (isChangeOf(change, 'conversation')) {
    return streamLoss(change, streamName('conversation', change.data.id), undefined);
  }
  if (isChangeOf(change, 'workspace')) {
    return streamLoss(change, streamName('workspace', change.data.id), undefined);
  }
  if (isChangeOf(change, 'user')) return { scope: 'user', userId: change.data.id };
  return undefined;
}

/** A loss of `stream`, counted on that stream only (a member change is on the user's too). */
function streamLoss(
  change: ChangeEvent,
  stream: StreamName,
  userId: string | undefined,
): AccessLoss | undefined {
  return change.stream === stream ? { scope: 'stream', stream, userId } : undefined;
}

/** Whether `change` ends `userId`'s access to `stream`, the stream it was read from. */
export function endsStreamAccess(change: ChangeEvent, stream: StreamName, userId: string): boolean {
  const loss = accessLostBy(change);
  return (
    loss?.scope === 'stream' &&
    loss.stream === stream &&
    (loss.userId === undefined || loss.userId === userId)
  );
}
