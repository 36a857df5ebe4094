/**
 * Stable error codes carried by every error ack and `connect_error`. Clients branch on these,
 * never on messages: adding a code is a protocol change.
 */
export const ERROR_CODES = [
  'invalid_payload',
  'unauthorized',
  'forbidden',
  'not_found',
  'conflict',
  'rate_limited',
  'unknown_event',
  'internal',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** The error half of an ack, and the `data` of a refused handshake. */
export interface WireError {
  readonly code: ErrorCode;
  readonly message: string;
  /** With `rate_limited`: retrying sooner than this is refused again. */
  readonly retryAfterMs?: number;
  /**
   * With `conflict` from `file:push`: the file as it is now, to rebase the change on; for a
   * create or a move onto a path a live file has, that file (another `fileId`).
   */
  readonly current?: FileVersion;
}

/** Where a file stands: enough to rebase a conflicting change on it. */
export interface FileVersion {
  readonly fileId: string;
  readonly path: string;
  readonly version: number;
  readonly contentHash: string;
  readonly deleted: boolean;
}
