import { z } from 'zod';
import { streamNameSchema } from './streams.js';

/** Most streams one `changes:received` may name (a device follows few streams at a time). */
export const MAX_RECEIVED_STREAMS = 256;

const perStream = (value: z.ZodNumber) =>
  z
    .record(streamNameSchema, value)
    .refine((streams) => Object.keys(streams).length <= MAX_RECEIVED_STREAMS, {
      message: `at most ${MAX_RECEIVED_STREAMS} streams`,
    });

/**
 * `changes:received`: the highest seq the device holds of each stream it names (it has every
 * change up to it), and for how long it has held it (`heldMs`, so that a report sent a little
 * later still times the receipt). Devices send it at most a few times a second, without an ack
 * (the server answers only when asked); the server keeps it to show each subscriber's lag and
 * to measure commit-to-device time. It never changes what is delivered.
 */
export const changesReceivedPayloadSchema = z.strictObject({
  streams: perStream(z.number().int().nonnegative()),
  heldMs: perStream(z.number().int().nonnegative().max(3_600_000)).optional(),
});
export type ChangesReceivedPayload = z.infer<typeof changesReceivedPayloadSchema>;
