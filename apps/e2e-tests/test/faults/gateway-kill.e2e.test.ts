import { describe, expect } from 'vitest';
import { reportFault } from './fault-report.js';
import { faultTest } from './fault-test.js';
import { steadyWriter } from './steady-writer.js';

// Fault: gateway B, the node of the writer and of Alice's phone, is killed with SIGKILL while
// Bob writes, and is started again at once, as an orchestrator does. Its devices come back by
// themselves, as a device does: they connect to whichever node takes them first (A, or B once
// it is back: both are one URL where one gateway serves) and subscribe again from the last seq
// they have; the message under way is sent again with its client id. Then the phone returns to
// the restarted B, which serves the rest. Every device gets every message once, in order.

const WAIT_MS = 30_000;

describe('fault: a gateway is killed with SIGKILL and restarted', () => {
  faultTest(
    "moves the killed node's devices, losing and doubling nothing; the node serves again",
    ['killGatewayB', 'startGatewayB'],
    90_000,
    async (target, chat) => {
      const { scenario, devices } = chat;
      const { stream } = scenario;
      const { sent, send } = steadyWriter(devices.writer, scenario.conversation.id, {
        onLost: () => chat.resume(devices.writer, ['A', 'B']),
      });
      const sendRange = async (from: number, to: number): Promise<void> => {
        for (let i = from; i < to; i++) await send(i);
      };
      const sending = sendRange(0, 30);
      sending.catch(() => undefined);
      await expect.poll(() => sent.length, { timeout: WAIT_MS, interval: 10 }).toBeGreaterThan(10);

      // The devices that lose their connection: those on B's URL (every one, where A's is B's).
      const onB = devices.all.filter((device) => device.url === target.gateways.B);
      const receivedBefore = onB.map((device) => device.changes(stream).length);
      const sentBefore = sent.length;
      const killedAt = Date.now();
      await target.killGateway('B');
      const restarting = target
        .startGateway('B')
        .then(() => ({ at: Date.now(), sentWhileDown: sent.length - sentBefore }));
      restarting.catch(() => undefined);
      await Promise.all(onB.map((device) => chat.resume(device, ['A', 'B'])));
      // Time to recover: from the kill to the first change each moved device receives.
      const firstChangeMs = await Promise.all(
        onB.map(async (device, i) => {
          const index = receivedBefore[i]!;
          await device.waitForCount('change', index + 1, { timeout: WAIT_MS });
          return device.changes(stream)[index]!.receivedAt - killedAt;
        }),
      );
      await sending;
      const back = await restarting;

      // B is back on its URL: the phone returns to it, and the rest reaches it through B.
      if (devices.phone.url !== target.gateways.B) await chat.resume(devices.phone, ['B']);
      const onRestartedB = devices.phone.changes(stream).length;
      await sendRange(30, 40);

      await chat.expectDelivered(sent, WAIT_MS);
      expect(devices.phone.url).toBe(target.gateways.B);
      expect(devices.phone.changes(stream).length - onRestartedB).toBeGreaterThanOrEqual(10);
      await reportFault({
        fault: 'gateway-kill',
        target: target.description,
        messages: sent.length,
        duringFault: back.sentWhileDown,
        devices: devices.all.length,
        recoveryMs: {
          firstChangeOnMovedDevices: Math.max(...firstChangeMs),
          restartedGatewayReady: back.at - killedAt,
        },
        lost: 0,
        duplicated: 0,
      });
    },
  );
});
