import { z } from 'zod';

/** Kinds of stream; a stream name is `<kind>:<id>`. */
export const STREAM_KINDS = ['conversation', 'workspace', 'user'] as const;
export type StreamKind = (typeof STREAM_KINDS)[number];

/** A stream name such as `conversation:6f1c…`. */
export type StreamName = `${StreamKind}:${string}`;

const uuid = z.uuid();

/**
 * A stream name; the id is lowercased first, because PostgreSQL writes stream names with
 * lowercase ids and clients (Swift's `uuidString`, .NET) often send uppercase ones.
 */
export const streamNameSchema = z
  .string()
  .max(100)
  .toLowerCase()
  .refine(
    (value): value is StreamName => {
      const [kind, id, ...rest] = value.split(':');
      return (
        rest.length === 0 && STREAM_KINDS.includes(kind as StreamKind) && uuid.safeParse(id).success
      );
    },
    { message: 'expected "<conversation|workspace|user>:<uuid>"' },
  );

/**
 * Whether `value` has the shape of a stream name (`<kind>:<something>`). A cheap check for
 * names that come from the database; use {@link streamNameSchema} for names from clients.
 */
export function isStreamName(value: string): value is StreamName {
  const index = value.indexOf(':');
  return index > 0 && (STREAM_KINDS as readonly string[]).includes(value.slice(0, index));
}

/** Builds a stream name: `streamName('conversation', id)` → `conversation:<id>`. */
export function streamName(kind: StreamKind, id: string): StreamName {
  return `${kind}:${id}`;
}

/** Splits a stream name into its kind and id. */
export function parseStreamName(name: StreamName): { kind: StreamKind; id: string } {
  const index = name.indexOf(':');
  return { kind: name.slice(0, index) as StreamKind, id: name.slice(index + 1) };
}
