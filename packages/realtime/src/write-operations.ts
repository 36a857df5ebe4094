import {
  changeMembership,
  changeMessage,
  createContainer,
  findSentMessage,
  insertMessage,
  markRead,
  pushFileChange,
  renameContainer,
  requireMember,
  type Actor,
  type Database,
} from '@ccs/db';
import {
  conversationCreatePayloadSchema,
  conversationMemberPayloadSchema,
  conversationUpdatePayloadSchema,
  filePushPayloadSchema,
  messageDeletePayloadSchema,
  messageEditPayloadSchema,
  messageSendPayloadSchema,
  receiptReadPayloadSchema,
  workspaceCreatePayloadSchema,
  workspaceMemberPayloadSchema,
  type WriteEventName,
  type WritePayloads,
} from '@ccs/protocol';
import type { z } from 'zod';

/** One write of the protocol: how its payload is checked and what it does in the database. */
export interface WriteOperation<E extends WriteEventName> {
  readonly schema: z.ZodType<WritePayloads[E][0]>;
  readonly run: (
    db: Database,
    actor: Actor,
    payload: WritePayloads[E][0],
  ) => Promise<WritePayloads[E][1]>;
}

/**
 * Every write a device may make, by event name: the socket event and its REST route both run
 * the entry here (same schema, same query, same errors), so they answer the same.
 */
export const WRITE_OPERATIONS: { readonly [E in WriteEventName]: WriteOperation<E> } = {
  'message:send': {
    schema: messageSendPayloadSchema,
    async run(db, actor, payload) {
      await requireMember(db, 'conversation', payload.conversationId, actor.userId).catch(
        async (error: unknown) => {
          // A retry of a send that committed before the device's user lost access answers
          // that send, as any retry does; a new send is refused.
          const sent = await findSentMessage(db, actor.deviceId, payload.clientId);
          if (!sent || sent.message.conversationId !== payload.conversationId) throw error;
        },
      );
      const stored = await insertMessage(db, {
        ...payload,
        authorId: actor.userId,
        deviceId: actor.deviceId,
      });
      return { id: stored.message.id, stream: stored.stream, seq: stored.seq };
    },
  },
  'message:edit': {
    schema: messageEditPayloadSchema,
    run: (db, actor, { messageId, body }) =>
      changeMessage(db, actor, messageId, { kind: 'edit', body }),
  },
  'message:delete': {
    schema: messageDeletePayloadSchema,
    run: (db, actor, { messageId }) => changeMessage(db, actor, messageId, { kind: 'delete' }),
  },
  'receipt:read': {
    schema: receiptReadPayloadSchema,
    run: (db, actor, { conversationId, seq }) => markRead(db, actor, conversationId, seq),
  },
  'conversation:create': {
    schema: conversationCreatePayloadSchema,
    run: (db, actor, { clientId, title, memberIds }) =>
      createContainer(db, 'conversation', actor, {
        clientId,
        label: title ?? '',
        ...(memberIds && { memberIds }),
      }),
  },
  'conversation:update': {
    schema: conversationUpdatePayloadSchema,
    run: (db, actor, { conversationId, title }) =>
      renameContainer(db, 'conversation', actor, conversationId, title),
  },
  'conversation:add_member': {
    schema: conversationMemberPayloadSchema,
    run: (db, actor, { conversationId, userId }) =>
      changeMembership(db, 'conversation', actor, conversationId, { userId, member: true }),
  },
  'conversation:remove_member': {
    schema: conversationMemberPayloadSchema,
    run: (db, actor, { conversationId, userId }) =>
      changeMembership(db, 'conversation', actor, conversationId, { userId, member: false }),
  },
  'workspace:create': {
    schema: workspaceCreatePayloadSchema,
    run: (db, actor, { clientId, name, memberIds }) =>
      createContainer(db, 'workspace', actor, {
        clientId,
        label: name,
        ...(memberIds && { memberIds }),
      }),
  },
  'workspace:add_member': {
    schema: workspaceMemberPayloadSchema,
    run: (db, actor, { workspaceId, userId }) =>
      changeMembership(db, 'workspace', actor, workspaceId, { userId, member: true }),
  },
  'workspace:remove_member': {
    schema: workspaceMemberPayloadSchema,
    run: (db, actor, { workspaceId, userId }) =>
      changeMembership(db, 'workspace', actor, workspaceId, { userId, member: false }),
  },
  'file:push': {
    schema: filePushPayloadSchema,
    run: (db, actor, payload) => pushFileChange(db, actor, payload),
  },
};
