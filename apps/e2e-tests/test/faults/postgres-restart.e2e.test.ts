import { describe, expect } from 'vitest';
import { reportFault } from './fault-report.js';
import { faultTest } from './fault-test.js';
import { steadyWriter } from './steady-writer.js';

// Fault: PostgreSQL itself crashes (on the suite's own stack, `pg_ctl stop -m immediate` of a
// throwaway cluster: every backend killed at once) while devices on two gateways chat, and
// starts again (crash recovery). Sends during the outage are refused and retried by the device
// with the same client id; once PostgreSQL is back, every acknowledged message reaches every
// device once and in order, by itself.

const WAIT_MS = 30_000;

describe('fault: PostgreSQL crashes and restarts', () => {
  faultTest(
    'resumes delivery by itself: every acknowledged message once, in order, on every device',
    ['crashPostgres', 'startPostgres'],
    90_000,
    async (target, chat) => {
      const { scenario, devices } = chat;
      const { sent, send, refused } = steadyWriter(devices.writer, scenario.conversation.id);
      for (let i = 0; i < 15; i++) await send(i);
      await target.crashPostgres();
      const crashedAt = Date.now();
      const during = send(15);
      // The device has seen the outage (its send refused, and refused again) before the restart.
      await expect.poll(refused, { timeout: WAIT_MS, interval: 20 }).toBeGreaterThanOrEqual(2);
      await target.startPostgres();
      const restartedAt = Date.now();
      await during;
      const firstAckMs = Date.now() - restartedAt;
      for (let i = 16; i < 30; i++) await send(i);

      await chat.expectDelivered(sent, WAIT_MS);
      await reportFault({
        fault: 'postgres-restart',
        target: target.description,
        messages: sent.length,
        duringFault: 1,
        devices: devices.all.length,
        recoveryMs: { down: restartedAt - crashedAt, firstAckAfterRestart: firstAckMs },
        lost: 0,
        duplicated: 0,
      });
      console.info(`[fault postgres-restart] ${refused()} sends refused while it was down`);
    },
  );
});
