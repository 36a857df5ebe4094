import type { ChangeEvent } from '@ccs/protocol';
import { toChangeEvent, type ChangeLogRow } from './change-event-mapper.js';
import type { Database } from './database.js';

/** Options of {@link ChangeTail}. */
export interface ChangeTailOptions {
  /** Changes read per query at most; a read that fills it says `more`. @default 1000 */
  readonly batchSize?: number;
  /**
   * Where to go on from: a position {@link ChangeTail.savedPosition} returned, possibly in
   * another process. Without it, the first read takes the position (changes from then on).
   */
  readonly from?: SavedTailPosition;
}

/**
 * A {@link ChangeTail}'s position in a JSON-safe form, to store and go on from after a restart.
 * Changes retention removed since are not read.
 */
export interface SavedTailPosition {
  readonly frontier: string;
  readonly pending: readonly string[];
  readonly cuts: readonly { readonly xid: string; readonly stream: string; readonly seq: number }[];
}

/** What one {@link ChangeTail.read} found. */
export interface ChangeTailRead {
  /** Changes committed since the last read, grouped by transaction; per stream in seq order. */
  readonly changes: readonly ChangeEvent[];
  /** The batch was full: more committed changes may be waiting, read again at once. */
  readonly more: boolean;
}

/** Where a transaction cut by a full batch was read up to. */
interface CutPoint {
  readonly stream: string;
  readonly seq: number;
}

/** Which transactions the tail has read: all below `frontier` except `pending`. */
interface TailPosition {
  readonly frontier: bigint;
  /** Transactions not read whole yet: running at the last read, or cut (see `cuts`). */
  readonly pending: readonly bigint[];
  /** Committed transactions a full batch cut, by xid: read up to their cut point. */
  readonly cuts: ReadonlyMap<bigint, CutPoint>;
}

type TailRow = Partial<ChangeLogRow> & {
  readonly snapshot: string;
  readonly xid: string | null;
};

/** `xmin:xmax:xip,…` (pg_snapshot's text form) → xmax and the running transactions. */
function parseSnapshot(text: string): { xmax: bigint; running: bigint[] } {
  const [, xmax, running] = text.split(':');
  return {
    xmax: BigInt(xmax!),
    running: running ? running.split(',').map((xid) => BigInt(xid)) : [],
  };
}

const xidArray = (xids: readonly bigint[]): string => `{${xids.join(',')}}`;

/**
 * Reads every committed change of every stream, once, in an order that respects each stream's
 * seq, with one query per read. Its position is a set of transactions, not a row id: a change
 * is read once its transaction is visible (committed) in the query's snapshot, so a transaction
 * that started early and commits late is read when it commits (a global serial read with
 * `id > cursor` would skip it), and a long transaction holds back nobody else's changes.
 * See `ccs_committed_changes` in the migrations for the SQL.
 *
 * @example
 * const tail = new ChangeTail(db);
 * await tail.read(); // the first read only takes the position: changes from now on
 * const { changes, more } = await tail.read();
 */
export class ChangeTail {
  private position: TailPosition | undefined;
  private readonly batchSize: number;

  constructor(
    private readonly db: Database,
    options: ChangeTailOptions = {},
  ) {
    this.batchSize = options.batchSize ?? 1000;
    if (options.from) this.position = restorePosition(options.from);
  }

  /** The position after the last read, to save; undefined before the first read. */
  savedPosition(): SavedTailPosition | undefined {
    const position = this.position;
    if (!position) return undefined;
    return {
      frontier: String(position.frontier),
      pending: position.pending.map(String),
      cuts: [...position.cuts].map(([xid, cut]) => ({ xid: String(xid), ...cut })),
    };
  }

  /**
   * Reads the changes committed since the previous read. The first read returns none: it takes
   * the position from which later reads deliver everything.
   */
  async read(): Promise<ChangeTailRead> {
    const position = this.position;
    const limit = position ? this.batchSize : 0;
    // A named statement: parsed once per connection, and the function keeps its plan.
    const cuts = [...(position?.cuts ?? [])];
    const result = await this.db.$client.query<TailRow>({
      name: 'ccs-committed-changes',
      text: 'SELECT * FROM ccs_committed_changes($1, $2, $3, $4, $5, $6)',
      values: [
        xidArray(position?.pending ?? []),
        String(position?.frontier ?? 0n),
        xidArray(cuts.map(([xid]) => xid)),
        cuts.map(([, cut]) => cut.stream),
        cuts.map(([, cut]) => cut.seq),
        limit,
      ],
    });
    const rows = result.rows.filter((row): row is TailRow & ChangeLogRow => row.xid !== null);
    const snapshot = parseSnapshot(result.rows[0]!.snapshot);
    // Mapped before the position moves: a row that cannot be mapped fails the read, which is
    // retried from the same position, rather than losing the rest of the batch.
    const changes = rows.map(toChangeEvent);
    const more = limit > 0 && rows.length === limit;
    this.position = more
      ? cutPosition(position!, snapshot.running, rows[rows.length - 1]!)
      : { frontier: snapshot.xmax, pending: snapshot.running, cuts: new Map() };
    return { changes, more };
  }
}

function restorePosition(saved: SavedTailPosition): TailPosition {
  return {
    frontier: BigInt(saved.frontier),
    pending: saved.pending.map((xid) => BigInt(xid)),
    cuts: new Map(saved.cuts.map((cut) => [BigInt(cut.xid), { stream: cut.stream, seq: cut.seq }])),
  };
}

/**
 * The position after a read that the batch size cut at `last`: the rows came in xid order, so
 * the committed transactions before `last`'s were read whole and leave; `last`'s was read up to
 * its row (a cut point); those still running, and those after the cut, stay pending. Earlier
 * cut points of transactions after this cut stay too: a transaction that committed since may
 * sort before them, as this one did.
 */
function cutPosition(
  previous: TailPosition,
  running: readonly bigint[],
  last: TailRow & ChangeLogRow,
): TailPosition {
  const cut = BigInt(last.xid!);
  const pending = new Set<bigint>([
    ...running.filter((xid) => xid < cut),
    ...previous.pending.filter((xid) => xid > cut),
    cut,
  ]);
  const cuts = new Map([...previous.cuts].filter(([xid]) => xid > cut));
  cuts.set(cut, { stream: last.stream, seq: Number(last.seq) });
  return {
    frontier: previous.frontier > cut + 1n ? previous.frontier : cut + 1n,
    pending: [...pending],
    cuts,
  };
}
