import { z } from 'zod';
import { clientIdSchema, idSchema, storableText } from './payloads.js';

/** Longest conversation title or workspace name, in characters. */
export const MAX_TITLE_LENGTH = 200;

/** Most members one create may name besides the creator. */
export const MAX_INITIAL_MEMBERS = 100;

const title = storableText(MAX_TITLE_LENGTH, 0);
const memberIds = z.array(idSchema).max(MAX_INITIAL_MEMBERS);

/**
 * Creates a conversation whose members are the creator and `memberIds`; idempotent on the
 * device's `clientId`.
 */
export const conversationCreatePayloadSchema = z.strictObject({
  clientId: clientIdSchema,
  title: title.optional(),
  memberIds: memberIds.optional(),
});
export type ConversationCreatePayload = z.infer<typeof conversationCreatePayloadSchema>;

/** Renames a conversation (any member may). */
export const conversationUpdatePayloadSchema = z.strictObject({
  conversationId: idSchema,
  title,
});
export type ConversationUpdatePayload = z.infer<typeof conversationUpdatePayloadSchema>;

/**
 * Adds a user to a conversation, or removes one (any member may; removing oneself is leaving).
 * Adding a member twice, or removing a non-member, changes nothing and succeeds.
 */
export const conversationMemberPayloadSchema = z.strictObject({
  conversationId: idSchema,
  userId: idSchema,
});
export type ConversationMemberPayload = z.infer<typeof conversationMemberPayloadSchema>;

/** Creates a file-sync workspace whose members are the creator and `memberIds`. */
export const workspaceCreatePayloadSchema = z.strictObject({
  clientId: clientIdSchema,
  name: storableText(MAX_TITLE_LENGTH),
  memberIds: memberIds.optional(),
});
export type WorkspaceCreatePayload = z.infer<typeof workspaceCreatePayloadSchema>;

/** Adds a user to a workspace, or removes one (any member may). */
export const workspaceMemberPayloadSchema = z.strictObject({
  workspaceId: idSchema,
  userId: idSchema,
});
export type WorkspaceMemberPayload = z.infer<typeof workspaceMemberPayloadSchema>;
