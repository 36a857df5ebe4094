import {
  isChangeKind,
  isStreamName,
  type ChangeDataByEntity,
  type ChangeEntity,
  type ChangeEvent,
  type ChangeKind,
  type StreamName,
} from '@ccs/protocol';
import { DbError } from './db-error.js';

/** A change_log row as the relay's queries read it (a type, so it is a query row). */
export type ChangeLogRow = {
  readonly stream: string;
  readonly seq: number | string;
  readonly kind: string;
  /** The row as `to_jsonb` wrote it: snake_case keys. */
  readonly payload: Readonly<Record<string, unknown>>;
  /** Milliseconds since the epoch (`ccs_committed_changes`, `ccs_stream_changes`). */
  readonly written_ms: number;
  readonly committed_ms: number;
};

const camelKeys = new Map<string, string>();

/** `conversation_id` → `conversationId`, memoised: a table has a handful of column names. */
function camelKey(key: string): string {
  let camel = camelKeys.get(key);
  if (camel === undefined) {
    camel = key.replace(/_([a-z0-9])/g, (_, letter: string) => letter.toUpperCase());
    camelKeys.set(key, camel);
  }
  return camel;
}

/**
 * The wire shape of a captured row: camelCase keys (the capture trigger writes column names).
 * The one cast between the database and the protocol: the trigger that wrote the change's kind
 * wrote this row with it, so the row has the shape the kind names.
 */
function toWireData(payload: Readonly<Record<string, unknown>>): ChangeDataByEntity[ChangeEntity] {
  const data: Record<string, unknown> = {};
  for (const key in payload) data[camelKey(key)] = payload[key];
  return data as unknown as ChangeDataByEntity[ChangeEntity];
}

/**
 * A row read as `to_jsonb(row)` in the shape a change of `entity` carries it, so a snapshot or a
 * write's answer shows a row exactly as its changes do (same keys, same timestamp format).
 */
export function toEntityData<E extends ChangeEntity>(
  _entity: E,
  row: Readonly<Record<string, unknown>>,
): ChangeDataByEntity[E] {
  return toWireData(row) as ChangeDataByEntity[E];
}

/** The kind and stream of a row, checked against the protocol: a mismatch is a capture bug. */
function checkedEnvelope(row: ChangeLogRow): { stream: StreamName; kind: ChangeKind } {
  const { stream, kind } = row;
  if (!isStreamName(stream) || !isChangeKind(kind)) {
    throw new DbError(
      'conflict',
      `change_log row ${stream}#${String(row.seq)} has a stream or kind (${kind}) the protocol does not define; check the capture triggers' arguments`,
      { stream, seq: row.seq, kind },
    );
  }
  return { stream, kind };
}

/**
 * Maps a change_log row to the wire's change event. The capture trigger wrote the kind and the
 * row together, so `data` has the shape `kind` names.
 */
export function toChangeEvent(row: ChangeLogRow): ChangeEvent {
  const { stream, kind } = checkedEnvelope(row);
  return {
    stream,
    seq: Number(row.seq),
    kind,
    data: toWireData(row.payload),
    committedAt: new Date(row.committed_ms).toISOString(),
    writtenAt: new Date(row.written_ms).toISOString(),
  } as ChangeEvent;
}
