import { describe, expect } from 'vitest';
import { reportFault } from './fault-report.js';
import { faultTest } from './fault-test.js';
import { steadyWriter } from './steady-writer.js';

// Fault: every PostgreSQL backend of the gateways is terminated at once (a failover of a
// managed database, a pooler restart, an administrator's pg_terminate_backend), twice, while
// devices on both nodes chat. Only the gateways' backends on the target's database are
// terminated; it needs no command, only the database URL.

const WAIT_MS = 30_000;

describe('fault: every PostgreSQL backend of the gateways is terminated', () => {
  faultTest(
    'resumes delivery by itself: every acknowledged message once, in order, on every device',
    [],
    90_000,
    async (target, chat) => {
      const { scenario, devices } = chat;
      const { sent, send, refused } = steadyWriter(devices.writer, scenario.conversation.id);
      for (let i = 0; i < 10; i++) await send(i);
      const killedFirst = await target.terminateBackends();
      let at = Date.now();
      await send(10);
      const firstAck = Date.now() - at;
      for (let i = 11; i < 20; i++) await send(i);
      const killedSecond = await target.terminateBackends();
      at = Date.now();
      await send(20);
      const secondAck = Date.now() - at;
      for (let i = 21; i < 30; i++) await send(i);

      expect(killedFirst).toBeGreaterThan(0);
      expect(killedSecond).toBeGreaterThan(0);
      await chat.expectDelivered(sent, WAIT_MS);
      await reportFault({
        fault: 'postgres-backends-terminated',
        target: target.description,
        messages: sent.length,
        duringFault: 2,
        devices: devices.all.length,
        recoveryMs: { firstAckAfterTermination: firstAck, secondAckAfterTermination: secondAck },
        lost: 0,
        duplicated: 0,
      });
      console.info(
        `[fault postgres-backends-terminated] ${killedFirst} and ${killedSecond} backends terminated; ${refused()} sends refused`,
      );
    },
  );
});
