import { z } from 'zod';
import { idSchema } from './payloads.js';
import { streamNameSchema } from './streams.js';

/** Who is online in a stream the socket is subscribed to. */
export const presenceListPayloadSchema = z.strictObject({ stream: streamNameSchema });
export type PresenceListPayload = z.infer<typeof presenceListPayloadSchema>;

/**
 * This device started or stopped typing in a conversation it is subscribed to. Ephemeral: never
 * stored, never numbered; repeats within the server's throttle are not passed on.
 */
export const typingUpdatePayloadSchema = z.strictObject({
  conversationId: idSchema,
  typing: z.boolean(),
});
export type TypingUpdatePayload = z.infer<typeof typingUpdatePayloadSchema>;
