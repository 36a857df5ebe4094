import { z } from 'zod';
import { streamNameSchema } from './streams.js';

/** Largest message body in characters; larger sends are refused with `invalid_payload`. */
export const MAX_MESSAGE_BODY_LENGTH = 16_384;

/** Longest client id of a send or a create, in characters. */
export const MAX_CLIENT_ID_LENGTH = 64;

/**
 * Bytes one encoded `message:send` packet can take when its payload passes validation: JSON
 * writes a UTF-16 code unit as at most 6 bytes (`\u001f`, a lone surrogate), and socket.io adds
 * the event name, an ack id and punctuation (under 256 bytes). A server's frame limit must be at
 * least this, so that no valid body is refused because of how it encodes.
 */
export const MAX_ENCODED_SEND_BYTES = 6 * (MAX_MESSAGE_BODY_LENGTH + MAX_CLIENT_ID_LENGTH) + 256;

/**
 * The largest frame a CCS server accepts (socket.io's `maxHttpBufferSize`): the largest valid
 * send plus engine.io's framing. A larger frame closes the connection.
 */
export const MAX_FRAME_BYTES = MAX_ENCODED_SEND_BYTES + 1024;

export const subscribePayloadSchema = z.strictObject({
  stream: streamNameSchema,
  /** Last seq the client has; changes with `seq > since` are replayed. Omitted: live only. */
  since: z.number().int().nonnegative().optional(),
});
export type SubscribePayload = z.infer<typeof subscribePayloadSchema>;

export const unsubscribePayloadSchema = z.strictObject({ stream: streamNameSchema });
export type UnsubscribePayload = z.infer<typeof unsubscribePayloadSchema>;

/** Matches a surrogate that is not half of a pair (a pair is one code point under `u`). */
const LONE_SURROGATE = /\p{Surrogate}/u;

/**
 * Text PostgreSQL stores as sent: no NUL character (U+0000), which `text` refuses, and no lone
 * surrogate, which UTF-8 cannot carry (it would be stored as U+FFFD, not as sent).
 */
export const storableText = (maxLength: number, minLength = 1) =>
  z
    .string()
    .min(minLength)
    .max(maxLength)
    .refine((value) => !value.includes('\u0000'), {
      message: 'must not contain the NUL character (U+0000)',
    })
    .refine((value) => !LONE_SURROGATE.test(value), {
      message: 'must be well-formed Unicode (a lone surrogate cannot be stored)',
    });

/** A uuid, lowercased as PostgreSQL writes it (clients often send uppercase ones). */
export const idSchema = z.uuid().toLowerCase();

/** Chosen by the device, unique per device: a retried write with the same id writes once. */
export const clientIdSchema = storableText(MAX_CLIENT_ID_LENGTH);

export const messageSendPayloadSchema = z.strictObject({
  conversationId: idSchema,
  clientId: clientIdSchema,
  body: storableText(MAX_MESSAGE_BODY_LENGTH),
});
export type MessageSendPayload = z.infer<typeof messageSendPayloadSchema>;

/** Replaces a message's body; only its author may, and not once it is deleted. */
export const messageEditPayloadSchema = z.strictObject({
  messageId: idSchema,
  body: storableText(MAX_MESSAGE_BODY_LENGTH),
});
export type MessageEditPayload = z.infer<typeof messageEditPayloadSchema>;

/** Soft-deletes a message (its author only): it keeps its place, its body is emptied. */
export const messageDeletePayloadSchema = z.strictObject({ messageId: idSchema });
export type MessageDeletePayload = z.infer<typeof messageDeletePayloadSchema>;

/** This device has read the conversation up to `seq` (a receipt never moves back). */
export const receiptReadPayloadSchema = z.strictObject({
  conversationId: idSchema,
  seq: z.number().int().nonnegative(),
});
export type ReceiptReadPayload = z.infer<typeof receiptReadPayloadSchema>;

export const handshakeAuthSchema = z.object({ token: z.string().min(1).max(4096) });
export type HandshakeAuth = z.infer<typeof handshakeAuthSchema>;
