import { writeMessagesWithSql } from '../run/sql-writer.js';
import { connectAndSubscribe, messageSchedule, type Scenario } from './scenario.js';

/**
 * Another program writes messages straight into PostgreSQL at a fixed rate; the capture trigger
 * is the only way CCS learns of them. Peers have no equivalent (nothing of theirs sees the
 * database), so only CCS runs.
 */
export const sqlWrites: Scenario = {
  name: 'sql-writes',
  description:
    'Messages INSERTed with plain SQL (one per transaction, as another service would) at a fixed ' +
    'rate into conversations of 10 devices; latency runs from issuing the INSERT to receipt.',
  targets: ['ccs'],
  defaults: { sendRate: 500, rampSec: 0, holdSec: 10 },
  async drive(run) {
    const { session, devices, settings, rig } = run;
    await connectAndSubscribe(run);
    await session.startLoadClock();
    const written = await writeMessagesWithSql(
      rig.database.pool,
      devices.filter((device) => device.sender),
      messageSchedule(settings),
      settings.payloadBytes,
    );
    session.note(
      `SQL writer: ${written.committed} INSERTs committed of ${written.issued}` +
        (written.failed > 0 ? `, ${written.failed} failed (${written.firstError})` : ''),
    );
    session.recordSqlWrites(written.committed, written.elapsedMs);
    await session.drain();
  },
};
