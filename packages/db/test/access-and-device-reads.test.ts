import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { streamName } from '@ccs/protocol';
import {
  readStreamAccess,
  readStreamAccesses,
  type StreamAccessRequest,
} from '../src/queries/access-queries.js';
import {
  findActiveDevice,
  findActiveDevices,
  insertConversation,
  findUser,
  insertDevice,
  insertDeviceIfMissing,
  insertUser,
  insertUserIfMissing,
  insertWorkspace,
} from '../src/queries/directory-queries.js';
import { devices } from '../src/schema/index.js';
import { eq } from 'drizzle-orm';
import { freshDatabase, type FreshDatabase } from './fresh-database.js';

let database: FreshDatabase;

beforeAll(async () => {
  database = await freshDatabase();
});

afterAll(async () => {
  await database.drop();
});

describe('insertUserIfMissing and insertDeviceIfMissing', () => {
  it('make a row once under concurrent callers, and answer the device that won', async () => {
    const userId = '6f1c2b3a-1d2e-4f5a-8b7c-9d0e1f2a3b4c';
    const deviceId = '7a2d3c4b-2e3f-4a6b-9c8d-0e1f2a3b4c5d';
    await Promise.all(
      Array.from({ length: 4 }, () => insertUserIfMissing(database.db, { id: userId, name: 'cy' })),
    );
    expect(await findUser(database.db, userId)).toMatchObject({ name: 'cy' });
    const other = await insertUser(database.db, { name: 'dee' });
    const answers = await Promise.all(
      [userId, other.id, userId, other.id].map((owner) =>
        insertDeviceIfMissing(database.db, { id: deviceId, userId: owner, name: owner }),
      ),
    );
    // One insert won; every caller is answered with that same row.
    expect(new Set(answers.map((device) => device.userId)).size).toBe(1);
    expect(answers.every((device) => device.id === deviceId)).toBe(true);
  });
});

describe('findActiveDevices', () => {
  it('answers each id with its own device, as findActiveDevice reads it, and leaves out revoked, unknown and malformed ids', async () => {
    const ada = await insertUser(database.db, { name: 'ada' });
    const bob = await insertUser(database.db, { name: 'bob' });
    const laptop = await insertDevice(database.db, { userId: ada.id, name: 'laptop' });
    const phone = await insertDevice(database.db, { userId: bob.id, name: 'phone' });
    const lost = await insertDevice(database.db, { userId: bob.id, name: 'lost' });
    await database.db.update(devices).set({ revokedAt: new Date() }).where(eq(devices.id, lost.id));
    const unknown = '00000000-0000-4000-8000-000000000000';

    const found = await findActiveDevices(database.db, [
      laptop.id,
      phone.id,
      phone.id.toUpperCase(),
      lost.id,
      unknown,
      'not-a-uuid',
    ]);

    expect([...found.keys()].sort()).toEqual([laptop.id, phone.id, phone.id.toUpperCase()].sort());
    expect(found.get(laptop.id)).toEqual(await findActiveDevice(database.db, laptop.id));
    expect(found.get(phone.id)).toEqual(await findActiveDevice(database.db, phone.id));
    expect(found.get(phone.id.toUpperCase())).toEqual(found.get(phone.id));
    expect(await findActiveDevices(database.db, [])).toEqual(new Map());
    expect(await findActiveDevices(database.db, ['nope'])).toEqual(new Map());
  });
});

describe('readStreamAccesses', () => {
  it('answers each (stream, user) pair as readStreamAccess does, in order', async () => {
    const ada = await insertUser(database.db, { name: 'ada' });
    const bob = await insertUser(database.db, { name: 'bob' });
    const adas = await insertConversation(database.db, { title: 'ada only' }, [ada.id]);
    const both = await insertWorkspace(database.db, { name: 'both' }, [ada.id, bob.id]);
    const quiet = '00000000-0000-4000-8000-000000000001';
    const requests: StreamAccessRequest[] = [
      { stream: streamName('conversation', adas.id), userId: ada.id },
      { stream: streamName('conversation', adas.id), userId: bob.id },
      { stream: streamName('workspace', both.id), userId: bob.id },
      { stream: streamName('user', ada.id), userId: ada.id },
      { stream: streamName('user', ada.id), userId: bob.id },
      { stream: streamName('conversation', quiet), userId: ada.id },
      { stream: streamName('conversation', adas.id), userId: ada.id },
    ];

    const answers = await readStreamAccesses(database.db, requests);

    const one = await Promise.all(
      requests.map(({ stream, userId }) => readStreamAccess(database.db, stream, userId)),
    );
    expect(answers).toEqual(one);
    expect(answers.map((answer) => answer.allowed)).toEqual([
      true,
      false,
      true,
      true,
      false,
      false,
      true,
    ]);
    expect(answers[0]!.head).toBeGreaterThan(0);
    expect(
      await readStreamAccesses(database.db, [
        { stream: streamName('conversation', 'not-a-uuid'), userId: ada.id },
      ]),
    ).toEqual([{ allowed: false, head: 0 }]);
    expect(await readStreamAccesses(database.db, [])).toEqual([]);
  });
});
