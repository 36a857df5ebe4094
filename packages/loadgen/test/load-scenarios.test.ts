import { Writable } from 'node:stream';
import { describe, expect, inject, test } from 'vitest';
import {
  LoadProgress,
  SCENARIOS,
  runScenario,
  type LoadEnvironment,
  type ScenarioResult,
  type TargetRun,
} from '../src/index.js';

const testEnv = inject('ccsTestEnv');
const lines: string[] = [];
const environment: LoadEnvironment = {
  adminUrl: testEnv.adminUrl,
  redisUrl: testEnv.redisUrl,
  progress: new LoadProgress(
    Object.assign(
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          lines.push(chunk.toString());
          done();
        },
      }),
      { isTTY: false },
    ) as unknown as NodeJS.WriteStream,
  ),
};

function scenario(name: string) {
  const found = SCENARIOS.get(name);
  if (!found) throw new Error(`no scenario ${name}`);
  return found;
}

function runOf(result: ScenarioResult, target: TargetRun['target']): TargetRun {
  const run = result.runs.find((one) => one.target === target);
  if (!run) throw new Error(`no ${target} run in ${result.scenario}`);
  return run;
}

function expectComplete(run: TargetRun): void {
  expect(run.notes.filter((note) => note.includes('failed'))).toEqual([]);
  expect(run.delivery.expected).toBeGreaterThan(0);
  expect(run.delivery, `${run.target}: every message once, in order`).toMatchObject({
    received: run.delivery.expected,
    lost: 0,
    duplicated: 0,
    outOfOrder: 0,
  });
}

describe('load scenarios (real gateway, real peers, real sockets)', () => {
  test('chat-fanout: every device of every member gets every message once and in order, on CCS and on bare socket.io', async () => {
    const result = await runScenario(scenario('chat-fanout'), {
      targets: ['ccs', 'bare'],
      overrides: {
        conversations: 5,
        usersPerConversation: 2,
        devicesPerUser: 2,
        sendRate: 40,
        rampSec: 1,
        holdSec: 2,
        spikeRate: 80,
        spikeSec: 1,
      },
      environment,
    });
    for (const target of ['ccs', 'bare'] as const) {
      const run = runOf(result, target);
      expectComplete(run);
      // 20 + 80 + 80 messages, each to the 4 devices of its conversation.
      expect(run.delivery.expected).toBe(180 * 4);
      expect(run.connections).toMatchObject({ attempted: 20, succeeded: 20, failed: 0 });
      expect(run.sendToAck?.count).toBe(180);
      expect(run.sendToReceive?.count).toBe(180 * 4);
      expect(run.timeline.reduce((total, point) => total + point.count, 0)).toBe(180 * 4);
      expect(run.servers).toHaveLength(1);
      expect(run.servers[0]!.peakRssBytes).toBeGreaterThan(0);
    }
    expect(result.settings).toMatchObject({ devices: 20, sendRate: 40 });
  });

  test('reconnect-storm: CCS resumes every dropped client with nothing lost; socket.io CSR reconnects them too', async () => {
    const result = await runScenario(scenario('reconnect-storm'), {
      targets: ['ccs', 'redis-streams'],
      overrides: { conversations: 20, usersPerConversation: 5, sendRate: 60, holdSec: 3 },
      environment,
    });
    for (const target of ['ccs', 'redis-streams'] as const) {
      const run = runOf(result, target);
      expect(run.resume, target).toMatchObject({ dropped: 50, resumed: 50 });
      expect(run.resume!.time.count).toBe(50);
    }
    expectComplete(runOf(result, 'ccs'));
    // The peer is held to reconnecting, not to zero loss: connection state recovery replays
    // what a dropped client missed on a best-effort basis, and the suite's larger runs see it
    // lose hundreds (BENCHMARKS.md). Its losses are measured and reported.
    expect(runOf(result, 'redis-streams').delivery.received).toBeGreaterThan(0);
  });

  test('connection-storm: connects, subscribes and RSS per connection are measured', async () => {
    const result = await runScenario(scenario('connection-storm'), {
      targets: ['ccs'],
      overrides: { conversations: 60, usersPerConversation: 5 },
      environment,
    });
    const run = runOf(result, 'ccs');
    expect(run.connections).toMatchObject({ attempted: 300, succeeded: 300, failed: 0 });
    expect(run.connections.perSec).toBeGreaterThan(0);
    expect(run.connections.connectTime.count).toBe(300);
    expect(run.subscribes).toMatchObject({ attempted: 300, failed: 0 });
    expect(run.subscribes!.latency.count).toBe(300);
    expect(run.servers[0]!.rssPerConnectionBytes).toBeGreaterThan(0);
  });

  test('sql-writes: rows INSERTed with plain SQL reach every subscribed device', async () => {
    const result = await runScenario(scenario('sql-writes'), {
      overrides: {
        conversations: 5,
        usersPerConversation: 2,
        devicesPerUser: 1,
        sendRate: 50,
        holdSec: 2,
      },
      environment,
    });
    const run = runOf(result, 'ccs');
    expect(run.delivery.expected).toBe(100 * 2);
    expectComplete(run);
    expect(run.commitToReceive?.count).toBe(200);
  });

  test('presence-typing: typing reaches the other members while devices drop and come back', async () => {
    const result = await runScenario(scenario('presence-typing'), {
      targets: ['ccs'],
      overrides: {
        conversations: 5,
        usersPerConversation: 2,
        devicesPerUser: 2,
        sendRate: 10,
        typingRate: 40,
        holdSec: 2,
      },
      environment,
    });
    const run = runOf(result, 'ccs');
    expectComplete(run);
    expect(run.resume).toMatchObject({ dropped: 2, resumed: 2 });
    const typing = run.notes.find((note) => note.startsWith('typing:'));
    // 80 typing updates; one sent while its device was cut off is refused until it resubscribes.
    const [, acked, events] =
      /^typing: (\d+) updates acked .*, (\d+) typing events/.exec(typing ?? '') ?? [];
    expect(Number(acked)).toBeGreaterThanOrEqual(70);
    expect(Number(events)).toBeGreaterThan(0);
  });
});
