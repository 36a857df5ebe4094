import { z } from 'zod';
import { streamNameSchema } from './streams.js';

/** Most streams one `changes:received` may name (a device follows few streams at a time). */
export const MAX_RECEIVED_STREAMS = 256;

/**
 * `changes:received`: the highest seq the device holds of each stream it names (it has every
 * change up to it). Devices send it at most a few times a second; the server keeps it to show
 * each subscriber's lag and to measure commit-to-device time. It never changes what is delivered.
 */
export const changesReceivedPayloadSchema = z.strictObject({
  streams: z
    .record(streamNameSchema, z.number().int().nonnegative())
    .refine((streams) => Object.keys(streams).length <= MAX_RECEIVED_STREAMS, {
      message: `at most ${MAX_RECEIVED_STREAMS} streams`,
    }),
});
export type ChangesReceivedPayload = z.infer<typeof changesReceivedPayloadSchema>;
