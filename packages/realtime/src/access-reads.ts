import { readStreamAccesses, type Database, type StreamAccess } from '@ccs/db';
import type { StreamName } from '@ccs/protocol';
import { TurnBatcher } from './turn-batcher.js';

/** Reads whether a user may read a stream, and the stream's head, in one snapshot. */
export type ReadAccess = (stream: StreamName, userId: string) => Promise<StreamAccess>;

/**
 * {@link ReadAccess} whose reads of one turn of the event loop go to the database as one
 * statement: each pair is still answered as of one snapshot, read after it was asked.
 */
export function batchedAccessReads(db: Database): ReadAccess {
  const batcher = new TurnBatcher<string, StreamAccess>({
    load: async (keys) => {
      const requests = keys.map((key) => {
        const space = key.indexOf(' ');
        return { userId: key.slice(0, space), stream: key.slice(space + 1) as StreamName };
      });
      const answers = await readStreamAccesses(db, requests);
      return new Map(keys.map((key, index) => [key, answers[index]!]));
    },
  });
  return async (stream, userId) =>
    (await batcher.get(`${userId} ${stream}`)) ?? { allowed: false, head: 0 };
}
