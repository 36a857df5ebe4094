import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createClient } from '@ccs/client';
import { readStreamPosition, readTailPosition } from '@ccs/db';
import { createMessage, seedConversationScenario, type SignedDevice } from '@ccs/fixtures';
import { WEBHOOK_QUEUE, type FailedJob } from '@ccs/jobs';
import type { ChangeEvent, StreamName } from '@ccs/protocol';
import type { SyncServer } from '@ccs/server';
import { restCall, TestClient } from '@ccs/test-clients';
import { TEST_SERVER_JWT_SECRET as jwtSecret } from '@ccs/test-server';
import { CommanderError } from 'commander';
import { describe, expect, onTestFinished } from 'vitest';
import { createInspectCli, InspectError } from '../src/inspect-command.js';
import { test } from './server-fixtures.js';

const ADMIN_TOKEN = 'admin-token-of-the-inspect-cli-tests-7';
/** How long a poll waits for the cluster to get somewhere. */
const WAIT = { timeout: 10_000, interval: 50 };

type StartServer = (env?: Readonly<Record<string, string>>) => Promise<SyncServer>;

/** Two gateway nodes of one cluster with the admin token. */
async function twoNodes(startServer: StartServer): Promise<[SyncServer, SyncServer]> {
  return [
    await startServer({ CCS_ADMIN_TOKEN: ADMIN_TOKEN }),
    await startServer({ CCS_ADMIN_TOKEN: ADMIN_TOKEN }),
  ];
}

/** `ccs-inspect` in the test's process, printing into `lines`; a fresh program per run. */
function inspector(env: NodeJS.ProcessEnv, signal?: AbortSignal) {
  const lines: string[] = [];
  const run = (...args: string[]) =>
    createInspectCli((line) => lines.push(line), env, { signal }).parseAsync([
      'node',
      'ccs-inspect',
      ...args,
    ]);
  /** The lines printed since `from`, and forget them. */
  const take = (): string[] => lines.splice(0, lines.length);
  return { lines, run, take };
}

/** A device's test client on `server`, closed when the test ends. */
async function connect(server: SyncServer, device: SignedDevice, name: string) {
  const client = new TestClient({ url: server.url, token: device.token, name });
  onTestFinished(() => client.close());
  await client.open();
  return client;
}

/** Splits a table line into its cells (columns are two or more spaces apart). */
const cells = (line: string | undefined): string[] => (line ?? '').trim().split(/\s{2,}/);

describe('ccs-inspect: the change log', () => {
  test('tail follows a stream live until --count, from its head or from --from; --json prints one change per line', async ({
    database,
  }) => {
    const scenario = await seedConversationScenario(database.db, {
      jwtSecret,
      devicesPerUser: [1, 1],
    });
    const device = scenario.users[0]!.devices[0]!;
    const cli = inspector({ DATABASE_URL: database.url });
    const before = (await readStreamPosition(database.db, scenario.stream)).head;

    // From the head: it prints what commits after it started, as it commits.
    const tail = cli.run('tail', scenario.stream, '--count', '2', '--interval', '20');
    await expect.poll(() => cli.lines.length, WAIT).toBe(2);
    expect(cli.lines).toEqual([
      `following ${scenario.stream} after seq ${before} (Ctrl-C stops)`,
      expect.stringMatching(/^\s*SEQ {2}COMMITTED\s+KIND\s+DATA$/),
    ]);
    const first = await createMessage(database.db, device, scenario.conversation.id, {
      body: 'first live',
    });
    await expect.poll(() => cli.lines.length, WAIT).toBe(3);
    const second = await createMessage(database.db, device, scenario.conversation.id, {
      body: 'second live',
    });
    await tail;
    const rows = cli.take().slice(2);
    expect(rows.map(cells)).toEqual([
      [
        String(first.seq),
        expect.any(String),
        'message.created',
        expect.stringContaining('first live'),
      ],
      [
        String(second.seq),
        expect.any(String),
        'message.created',
        expect.stringContaining('second live'),
      ],
    ]);
    expect(first.seq).toBe(before + 1);

    // From --from, as JSON lines: the whole stream so far, as the wire shows it.
    await cli.run('tail', scenario.stream, '--from', '1', '--count', String(second.seq), '--json');
    const changes = cli.take().map((line) => JSON.parse(line) as ChangeEvent);
    expect(changes.map((change) => change.seq)).toEqual(
      Array.from({ length: second.seq }, (_, index) => index + 1),
    );
    expect(changes.at(-1)).toMatchObject({
      stream: scenario.stream,
      seq: second.seq,
      kind: 'message.created',
      data: { id: second.message.id, body: 'second live' },
      committedAt: expect.any(String),
    });

    // Stopped (as SIGINT does) while waiting for changes that never come.
    const stop = new AbortController();
    const stopped = inspector({ DATABASE_URL: database.url }, stop.signal);
    const idle = stopped.run('tail', scenario.stream);
    await expect.poll(() => stopped.lines.length, WAIT).toBe(2);
    stop.abort();
    await idle;
    expect(stopped.lines).toHaveLength(2);
  });

  test('range prints a stream by seq from the log, as a table or JSON, and refuses bad bounds', async ({
    database,
  }) => {
    const scenario = await seedConversationScenario(database.db, {
      jwtSecret,
      devicesPerUser: [1],
    });
    const device = scenario.users[0]!.devices[0]!;
    const sent = [];
    for (const body of ['a', 'b', 'c']) {
      sent.push(await createMessage(database.db, device, scenario.conversation.id, { body }));
    }
    const head = sent.at(-1)!.seq;
    const cli = inspector({ DATABASE_URL: database.url });

    await cli.run('range', scenario.stream, '--from', String(head - 1), '--to', String(head));
    const table = cli.take();
    expect(cells(table[0])).toEqual(['SEQ', 'COMMITTED', 'KIND', 'DATA']);
    expect(table.slice(1).map(cells)).toEqual([
      [String(head - 1), expect.stringMatching(/^\d{4}-/), 'message.created', expect.any(String)],
      [String(head), expect.stringMatching(/^\d{4}-/), 'message.created', expect.any(String)],
    ]);
    expect(table[2]).toContain('"body":"c"');

    // Past the head: what there is. JSON has the stream's position too.
    await cli.run('range', scenario.stream, '--from', String(head), '--to', '1000', '--json');
    expect(JSON.parse(cli.take()[0]!)).toEqual({
      stream: scenario.stream,
      from: head,
      to: 1000,
      head,
      trimmedTo: 0,
      changes: [
        expect.objectContaining({ seq: head, data: expect.objectContaining({ body: 'c' }) }),
      ],
    });
    await cli.run('range', scenario.stream, '--from', String(head + 1), '--to', String(head + 5));
    expect(cli.take()).toEqual([
      `no changes of ${scenario.stream} from seq ${head + 1} to ${head + 5} (head ${head})`,
    ]);

    await expect(cli.run('range', scenario.stream, '--from', '3', '--to', '2')).rejects.toEqual(
      new InspectError('invalid_arguments', '--to (2) is before --from (3)'),
    );
    await expect(
      cli.run('range', 'conversation:nope', '--from', '1', '--to', '2'),
    ).rejects.toMatchObject({ name: 'InspectError', code: 'invalid_payload' });
    await expect(cli.run('range', scenario.stream, '--from', '1')).rejects.toMatchObject({
      code: 'commander.missingMandatoryOptionValue',
    });
    await expect(cli.run('range', scenario.stream, '--from', '0', '--to', '1')).rejects.toThrow(
      CommanderError,
    );
  });
});

describe('ccs-inspect: the admin API of a two-node cluster', () => {
  test('subscribers lists every node’s sockets of a stream, as a table and as JSON', async ({
    startServer,
    database,
  }) => {
    const [nodeA, nodeB] = await twoNodes(startServer);
    const scenario = await seedConversationScenario(database.db, {
      jwtSecret,
      devicesPerUser: [1, 1],
    });
    const [alice, bob] = scenario.users;
    const aliceA = await connect(nodeA, alice!.devices[0]!, 'alice@A');
    const bobB = await connect(nodeB, bob!.devices[0]!, 'bob@B');
    await aliceA.subscribe(scenario.stream);
    await bobB.subscribe(scenario.stream);
    const { head } = await readStreamPosition(database.db, scenario.stream);
    const cli = inspector({ CCS_ADMIN_TOKEN: ADMIN_TOKEN, CCS_ADMIN_URL: nodeA.url });

    // Bob's device says it holds the stream up to the head (changes:received); Alice's never did.
    expect(
      await bobB.emitWithAck('changes:received', { streams: { [scenario.stream]: head } }),
    ).toEqual({ ok: true });
    await cli.run('subscribers', scenario.stream);
    const table = cli.take();
    expect(table[0]).toBe(`${scenario.stream}  head ${head}  2 subscribers`);
    expect(cells(table[1])).toEqual([
      'NODE',
      'SOCKET',
      'USER',
      'DEVICE',
      'RECEIVED',
      'LAG',
      'REPORTED',
    ]);
    expect(table.slice(2).map(cells)).toEqual(
      expect.arrayContaining([
        [nodeA.nodeId, aliceA.socket.id, alice!.user.id, alice!.devices[0]!.id, '-', '-', '-'],
        [
          nodeB.nodeId,
          bobB.socket.id,
          bob!.user.id,
          bob!.devices[0]!.id,
          String(head),
          '0',
          expect.stringMatching(/^\d+\.\d s ago$/),
        ],
      ]),
    );
    expect(table).toHaveLength(4);

    // --url picks the node asked; the answer is the cluster's either way.
    await cli.run('subscribers', scenario.stream, '--url', nodeB.url, '--json');
    const answer = JSON.parse(cli.take()[0]!) as { subscribers: { node: string }[] };
    expect(answer).toMatchObject({ stream: scenario.stream, head });
    expect(answer.subscribers.map((s) => s.node).sort()).toEqual(
      [nodeA.nodeId, nodeB.nodeId].sort(),
    );

    const ownStream: StreamName = `user:${alice!.user.id}`;
    const ownHead = (await readStreamPosition(database.db, ownStream)).head;
    await cli.run('subscribers', ownStream);
    expect(cli.take()).toEqual([`${ownStream}  head ${ownHead}  0 subscribers`]);

    // The admin API's refusals come back with their code.
    await expect(
      inspector({ CCS_ADMIN_URL: nodeA.url }).run('subscribers', scenario.stream),
    ).rejects.toMatchObject({
      code: 'unauthorized',
      message: expect.stringContaining('CCS_ADMIN_TOKEN'),
    });
    await expect(
      inspector({ CCS_ADMIN_URL: nodeA.url, CCS_ADMIN_TOKEN: 'wrong-token' }).run(
        'subscribers',
        scenario.stream,
      ),
    ).rejects.toMatchObject({ code: 'unauthorized' });
    await expect(
      inspector({ CCS_ADMIN_URL: 'http://127.0.0.1:1', CCS_ADMIN_TOKEN: ADMIN_TOKEN }).run(
        'subscribers',
        scenario.stream,
      ),
    ).rejects.toMatchObject({
      code: 'unreachable',
      message: expect.stringContaining('127.0.0.1:1'),
    });
  });

  test('device shows the row, the sockets on both nodes with their streams, and presence', async ({
    startServer,
    database,
  }) => {
    const [nodeA, nodeB] = await twoNodes(startServer);
    const scenario = await seedConversationScenario(database.db, {
      jwtSecret,
      devicesPerUser: [1],
    });
    const alice = scenario.users[0]!;
    const phone = alice.devices[0]!;
    const phoneA = await connect(nodeA, phone, 'phone@A');
    const phoneB = await connect(nodeB, phone, 'phone@B');
    await phoneA.subscribe(scenario.stream);
    await phoneB.subscribe(scenario.stream);
    const { head } = await readStreamPosition(database.db, scenario.stream);
    const cli = inspector({ CCS_ADMIN_TOKEN: ADMIN_TOKEN, CCS_ADMIN_URL: nodeB.url });

    // Presence comes just after the subscribes: wait for it.
    await expect
      .poll(async () => {
        await cli.run('device', phone.id, '--json');
        return JSON.parse(cli.take()[0]!) as { presence: unknown[] };
      }, WAIT)
      .toMatchObject({ presence: [{ stream: scenario.stream, online: true }] });

    await cli.run('device', phone.id);
    const lines = cli.take();
    expect(lines[0]).toBe(
      `device ${phone.id}  user ${alice.user.id}  name ${JSON.stringify(phone.name)}  active`,
    );
    expect(lines[1]).toBe('sockets (2):');
    expect(cells(lines[2])).toEqual([
      'NODE',
      'SOCKET',
      'CONNECTED',
      'STREAM',
      'HEAD',
      'RECEIVED',
      'LAG',
      'REPORTED',
    ]);
    expect(lines.slice(3, 5).map(cells)).toEqual(
      expect.arrayContaining([
        [
          nodeA.nodeId,
          phoneA.socket.id,
          expect.any(String),
          scenario.stream,
          String(head),
          '-',
          '-',
          '-',
        ],
        [
          nodeB.nodeId,
          phoneB.socket.id,
          expect.any(String),
          scenario.stream,
          String(head),
          '-',
          '-',
          '-',
        ],
      ]),
    );
    expect(lines[5]).toBe('presence:');
    expect(cells(lines[6])).toEqual(['STREAM', 'ONLINE', 'SINCE']);
    expect(cells(lines[7])).toEqual([scenario.stream, 'yes', expect.stringMatching(/^\d{4}-/)]);
    expect(lines).toHaveLength(8);

    await expect(cli.run('device', '00000000-0000-4000-8000-000000000000')).rejects.toMatchObject({
      code: 'not_found',
    });
    await expect(cli.run('device', 'not-a-uuid')).rejects.toMatchObject({
      code: 'invalid_payload',
    });
  });

  test('resync --stream makes the SDK refetch and resubscribe; resync --device reaches a device on the other node', async ({
    startServer,
    database,
  }) => {
    const [nodeA, nodeB] = await twoNodes(startServer);
    const scenario = await seedConversationScenario(database.db, {
      jwtSecret,
      devicesPerUser: [1, 1],
    });
    const [alice, bob] = scenario.users;
    await createMessage(database.db, alice!.devices[0]!, scenario.conversation.id, { body: 'x' });
    const { head } = await readStreamPosition(database.db, scenario.stream);
    // Alice runs the SDK on node B; Bob a test client on node B.
    const sdk = createClient({ url: nodeB.url, token: alice!.devices[0]!.token });
    onTestFinished(() => sdk.close());
    const chat = sdk.subscribe(scenario.stream);
    await chat.ready;
    const resynced = new Promise<{ reason: string; seq: number }>((resolve) =>
      chat.once('resync', ({ reason, snapshot }) => resolve({ reason, seq: snapshot.seq })),
    );
    const liveAgain = new Promise<string>((resolve) =>
      chat.on('live', ({ outcome }) => {
        if (outcome === 'resynced') resolve(outcome);
      }),
    );
    const bobB = await connect(nodeB, bob!.devices[0]!, 'bob@B');
    await bobB.subscribe(scenario.stream);
    const cli = inspector({ CCS_ADMIN_TOKEN: ADMIN_TOKEN, CCS_ADMIN_URL: nodeA.url });

    await cli.run('resync', '--stream', scenario.stream);
    expect(cli.take()).toEqual([
      `resync_required (operator_request, head ${head}) sent to 2 sockets of ${scenario.stream}`,
    ]);
    // The SDK fetched a snapshot at the head and subscribed again from it.
    expect(await resynced).toEqual({ reason: 'operator_request', seq: head });
    expect(await liveAgain).toBe('resynced');
    expect((await bobB.waitFor('resync_required'))[0]).toEqual({
      stream: scenario.stream,
      reason: 'operator_request',
      head,
    });

    await cli.run('resync', '--device', bob!.devices[0]!.id, '--json');
    expect(JSON.parse(cli.take()[0]!)).toEqual({
      deviceId: bob!.devices[0]!.id,
      sockets: 1,
      streams: [{ stream: scenario.stream, head }],
    });
    await bobB.waitForCount('resync_required', 2);
    await cli.run('resync', '--device', bob!.devices[0]!.id);
    expect(cli.take()).toEqual([
      `resync_required (operator_request) sent to 1 socket of device ${bob!.devices[0]!.id}`,
      'STREAM' + ' '.repeat(scenario.stream.length - 4) + 'HEAD',
      `${scenario.stream}  ${head}`,
    ]);

    for (const args of [
      ['resync'],
      ['resync', '--stream', scenario.stream, '--device', bob!.devices[0]!.id],
    ]) {
      await expect(cli.run(...args)).rejects.toMatchObject({ code: 'invalid_arguments' });
    }
  });

  test('jobs failed lists a failed webhook and jobs retry runs it again, through the admin API', async ({
    startServer,
    database,
  }) => {
    // A receiver that answers 500 until told otherwise.
    let status = 500;
    const received: number[] = [];
    const receiver = createServer((request, response) => {
      request.resume();
      request.on('end', () => {
        received.push(status);
        response.writeHead(status).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    onTestFinished(async () => {
      receiver.closeAllConnections();
      await new Promise((resolve) => receiver.close(resolve));
    });
    const server = await startServer({
      CCS_ROLE: 'all',
      CCS_ADMIN_TOKEN: ADMIN_TOKEN,
      CCS_WEBHOOK_ATTEMPTS: '1',
      CCS_JOB_LOCK_MS: '1000',
    });
    const endpoint = await restCall(server.url, 'POST', '/v1/admin/webhooks', {
      token: ADMIN_TOKEN,
      json: { url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook` },
    });
    expect(endpoint.status).toBe(201);
    const jobs = server.jobs!;
    await jobs.ready;
    await expect.poll(() => jobs.dispatcher.active, WAIT).toBe(true);
    await expect.poll(() => readTailPosition(database.db, 'jobs'), WAIT).toBeDefined();
    const cli = inspector({ CCS_ADMIN_TOKEN: ADMIN_TOKEN, CCS_ADMIN_URL: server.url });
    await cli.run('jobs', 'failed');
    expect(cli.take()).toEqual(['no failed jobs']);

    // A message to a member with no device online: one notification, refused once, failed.
    const scenario = await seedConversationScenario(database.db, {
      jwtSecret,
      devicesPerUser: [1, 1],
    });
    await createMessage(database.db, scenario.users[0]!.devices[0]!, scenario.conversation.id);
    const failed = async () => {
      await cli.run('jobs', 'failed', '--json');
      return (JSON.parse(cli.take()[0]!) as { jobs: FailedJob[] }).jobs;
    };
    await expect.poll(failed, WAIT).toHaveLength(1);
    const [job] = await failed();
    expect(job).toMatchObject({ queue: WEBHOOK_QUEUE, name: 'message.created', attemptsMade: 1 });

    await cli.run('jobs', 'failed', '--queue', WEBHOOK_QUEUE);
    const table = cli.take();
    expect(cells(table[0])).toEqual(['FAILED', 'QUEUE', 'ID', 'NAME', 'ATTEMPTS', 'REASON']);
    expect(cells(table[1])).toEqual([
      job!.failedAt,
      WEBHOOK_QUEUE,
      job!.id,
      'message.created',
      '1',
      expect.stringContaining('500'),
    ]);
    await expect(cli.run('jobs', 'failed', '--queue', 'nope')).rejects.toMatchObject({
      code: 'not_found',
    });

    status = 200;
    await cli.run('jobs', 'retry', WEBHOOK_QUEUE, job!.id);
    expect(cli.take()).toEqual([`retried ${WEBHOOK_QUEUE} ${job!.id}`]);
    await expect.poll(() => received, WAIT).toEqual([500, 200]);
    await expect.poll(failed, WAIT).toEqual([]);
    await expect(cli.run('jobs', 'retry', WEBHOOK_QUEUE, job!.id, '--json')).rejects.toMatchObject({
      code: 'conflict',
    });
    await expect(cli.run('jobs', 'retry', WEBHOOK_QUEUE, 'no-such-job')).rejects.toMatchObject({
      code: 'not_found',
    });
  });

  test('the ccs-inspect binary prints tables on stdout, and errors as "ccs-inspect: <code>: <message>" with exit code 1', async ({
    startServer,
    database,
  }) => {
    const server = await startServer({ CCS_ADMIN_TOKEN: ADMIN_TOKEN });
    const scenario = await seedConversationScenario(database.db, {
      jwtSecret,
      devicesPerUser: [1],
    });
    const cli = fileURLToPath(new URL('../src/inspect-cli.ts', import.meta.url));
    const spawn = (env: Record<string, string>, ...args: string[]) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        execFile(
          process.execPath,
          ['--import', 'tsx', '--conditions=@ccs/source', cli, ...args],
          { env: { ...process.env, CCS_ADMIN_TOKEN: '', ...env }, timeout: 20_000 },
          (error, stdout, stderr) =>
            resolve({ code: error ? (error.code as number | null) : 0, stdout, stderr }),
        );
      });
    const admin = { CCS_ADMIN_URL: server.url, CCS_ADMIN_TOKEN: ADMIN_TOKEN };
    const [ok, unknownDevice, noToken, usage, noDatabase] = await Promise.all([
      spawn(admin, 'subscribers', scenario.stream),
      spawn(admin, 'device', '00000000-0000-4000-8000-000000000000'),
      spawn({ CCS_ADMIN_URL: server.url }, 'resync', '--stream', scenario.stream),
      spawn({ DATABASE_URL: database.url }, 'range', scenario.stream),
      // Nothing listens on port 1: the error names the database, never its password.
      spawn(
        { DATABASE_URL: 'postgres://ops:secret@127.0.0.1:1/ccs' },
        'range',
        scenario.stream,
        '--from',
        '1',
        '--to',
        '2',
      ),
    ]);
    const { head } = await readStreamPosition(database.db, scenario.stream);
    expect(ok).toEqual({
      code: 0,
      stdout: `${scenario.stream}  head ${head}  0 subscribers\n`,
      stderr: '',
    });
    expect(unknownDevice).toEqual({
      code: 1,
      stdout: '',
      stderr: 'ccs-inspect: not_found: no device 00000000-0000-4000-8000-000000000000\n',
    });
    expect(noToken).toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/^ccs-inspect: unauthorized: set CCS_ADMIN_TOKEN/),
    });
    expect(usage).toEqual({
      code: 1,
      stdout: '',
      stderr: "ccs-inspect: invalid_arguments: required option '--from <seq>' not specified\n",
    });
    expect(noDatabase).toEqual({
      code: 1,
      stdout: '',
      stderr: expect.stringMatching(
        /^ccs-inspect: database: postgres:\/\/ops:\*\*\*@127\.0\.0\.1:1\/ccs: .*ECONNREFUSED/,
      ),
    });
  });
});
