import type pg from 'pg';
import { repeatSpread, type RepeatSpread } from '../measure/repeat-spread.js';
import type { MessageWriter } from './message-writer.js';

/** Every user trigger of `messages`: its capture triggers (see @ccs/db's capture migrations). */
const CAPTURE_TRIGGER = 'USER';

/** What {@link measureWriteCeiling} reports: single-row message INSERTs committed per second. */
export interface WriteCeiling {
  readonly withCapture: RepeatSpread;
  readonly withoutCapture: RepeatSpread;
  /** withCapture.median ÷ withoutCapture.median: what capture leaves of the write rate. */
  readonly ratio: number;
  /**
   * WAL written per committed INSERT (median over the runs; the whole cluster's WAL, so other
   * activity on the server shows up here too): what capture adds to every commit's flush.
   */
  readonly walBytesPerWrite: { readonly withCapture: number; readonly withoutCapture: number };
  readonly secondsPerRun: number;
  readonly errors: number;
}

/** Options of {@link measureWriteCeiling}. */
export interface WriteCeilingOptions {
  readonly writer: MessageWriter;
  /** The bench database, to switch the trigger (its owner's pool). */
  readonly pool: pg.Pool;
  /** Lanes writing back to back: one per writer connection. */
  readonly connections: number;
  readonly durationMs: number;
  readonly repeats: number;
  /** Body stamp of these writes: a phase no client tallies. */
  readonly phase: number;
  readonly log: (line: string) => void;
}

/**
 * The most messages per second the writer gets committed, closed loop, with the capture trigger
 * on and with it off (`ALTER TABLE … DISABLE TRIGGER`), alternating so that drift (a growing
 * table, a busy neighbour) weighs on both alike. Run while no gateway tails the database: this
 * is the price of capture paid by writers, not of delivery. The trigger is on again afterwards,
 * whatever happens.
 */
export async function measureWriteCeiling(options: WriteCeilingOptions): Promise<WriteCeiling> {
  const setCapture = (on: boolean): Promise<unknown> =>
    options.pool.query(
      `ALTER TABLE messages ${on ? 'ENABLE' : 'DISABLE'} TRIGGER ${CAPTURE_TRIGGER}`,
    );
  const flatOut = (durationMs: number) =>
    options.writer.runFlatOut({
      phase: options.phase,
      durationMs,
      connections: options.connections,
    });
  const walPosition = async (): Promise<string> =>
    (await options.pool.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0]!
      .lsn;
  const walSince = async (lsn: string): Promise<number> =>
    Number(
      (
        await options.pool.query<{ bytes: string }>(
          'SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn)::text AS bytes',
          [lsn],
        )
      ).rows[0]!.bytes,
    );
  const rates = { on: [] as number[], off: [] as number[] };
  const walPerWrite = { on: [] as number[], off: [] as number[] };
  let errors = 0;
  try {
    // Warm-up: every connection opened and its statement prepared.
    await flatOut(500);
    for (let repeat = 0; repeat < options.repeats; repeat++) {
      for (const capture of ['on', 'off'] as const) {
        await setCapture(capture === 'on');
        const lsn = await walPosition();
        const result = await flatOut(options.durationMs);
        const walBytes = await walSince(lsn);
        errors += result.errors;
        const rate = Math.round(result.committed / (result.elapsedMs / 1000));
        rates[capture].push(rate);
        walPerWrite[capture].push(Math.round(walBytes / Math.max(1, result.committed)));
        options.log(
          `write ceiling, capture ${capture}: ${rate} inserts/s, ` +
            `${walPerWrite[capture].at(-1)} WAL bytes/insert`,
        );
      }
    }
  } finally {
    await setCapture(true);
  }
  const withCapture = repeatSpread(rates.on);
  const withoutCapture = repeatSpread(rates.off);
  return {
    withCapture,
    withoutCapture,
    ratio:
      withoutCapture.median > 0
        ? Math.round((withCapture.median / withoutCapture.median) * 1000) / 1000
        : 0,
    walBytesPerWrite: {
      withCapture: repeatSpread(walPerWrite.on).median,
      withoutCapture: repeatSpread(walPerWrite.off).median,
    },
    secondsPerRun: options.durationMs / 1000,
    errors,
  };
}
