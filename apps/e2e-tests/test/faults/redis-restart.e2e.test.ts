import { presenceMembers } from '@ccs/test-clients';
import { describe, expect } from 'vitest';
import { reportFault } from './fault-report.js';
import { faultTest } from './fault-test.js';
import { steadyWriter } from './steady-writer.js';

// Fault: Redis stops (on the suite's own stack, a crash: SIGKILL, nothing saved) while devices
// on two gateways chat, and comes back empty. Committed changes never go through Redis, so
// delivery must go on through the outage with nothing lost or doubled; what Redis carries
// (presence across nodes, wake-ups) must come back by itself.

const WAIT_MS = 20_000;

describe('fault: Redis stops and restarts empty', () => {
  faultTest(
    'delivers every message once and in order through the outage; presence recovers by itself',
    ['stopRedis', 'startRedis'],
    60_000,
    async (target, chat) => {
      const { scenario, devices } = chat;
      const aliceDevices = scenario.users[0]!.devices.map((device) => device.id).sort();
      const onlineOnB = async () =>
        (await presenceMembers(devices.writer, scenario.stream))
          .map((member) => member.deviceId)
          .filter((id) => aliceDevices.includes(id))
          .sort();
      await expect.poll(onlineOnB, { timeout: WAIT_MS, interval: 50 }).toEqual(aliceDevices);

      const { sent, send } = steadyWriter(devices.writer, scenario.conversation.id);
      for (let i = 0; i < 15; i++) await send(i);
      const stoppedAt = Date.now();
      await target.stopRedis();
      for (let i = 15; i < 35; i++) await send(i);
      await target.startRedis();
      const restartedAt = Date.now();
      for (let i = 35; i < 50; i++) await send(i);

      await chat.expectDelivered(sent, WAIT_MS);
      // Redis came back empty: the nodes' heartbeats put every online device back.
      await expect.poll(onlineOnB, { timeout: WAIT_MS, interval: 50 }).toEqual(aliceDevices);
      await reportFault({
        fault: 'redis-restart',
        target: target.description,
        messages: sent.length,
        duringFault: 20,
        devices: devices.all.length,
        recoveryMs: {
          down: restartedAt - stoppedAt,
          presenceBackAfterRestart: Date.now() - restartedAt,
        },
        lost: 0,
        duplicated: 0,
      });
    },
  );
});
