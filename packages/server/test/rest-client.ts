// Helpers of the REST tests: a write sent as its REST route (from
// WRITE_ROUTES, so a route is tested as it is declared), and users with signed devices.
import type { Database, User } from '@ccs/db';
import { deviceFactory, signDevice, userFactory, type SignedDevice } from '@ccs/fixtures';
import type { Ack, WireError, WriteEventName } from '@ccs/protocol';
import { restCall, type RestAnswer, type TestClient } from '@ccs/test-clients';
import { WRITE_ROUTES } from '../src/http/rest-routes.js';
import { TEST_SERVER_JWT_SECRET } from '@ccs/test-server';

/** Server limits high enough that a test's own requests are never rate limited. */
export const UNLIMITED: Readonly<Record<string, string>> = {
  CCS_SENDS_PER_SECOND: '100000',
  CCS_SEND_BURST: '100000',
  CCS_SENDS_IN_FLIGHT_PER_SOCKET: '1000',
  CCS_REST_REQUESTS_PER_SECOND: '100000',
  CCS_REST_REQUEST_BURST: '100000',
};

/** The REST route of a write event (every write event has one). */
export function routeOf(event: WriteEventName): (typeof WRITE_ROUTES)[number] {
  const route = WRITE_ROUTES.find((candidate) => candidate.event === event);
  if (!route) throw new Error(`no REST route for ${event}`);
  return route;
}

/** The names of a route's path parameters, e.g. `['conversationId', 'userId']`. */
export function pathParams(url: string): string[] {
  return [...url.matchAll(/:(\w+)/g)].map((match) => match[1]!);
}

/**
 * A write as its REST request: the route's method, its URL under `/v1` with the path's
 * parameters taken from `payload`, and the rest of `payload` as the JSON body.
 */
export function writeRequest(
  event: WriteEventName,
  payload: Readonly<Record<string, unknown>>,
): { readonly method: string; readonly path: string; readonly json: Record<string, unknown> } {
  const route = routeOf(event);
  const params = new Set(pathParams(route.url));
  const url = route.url.replace(/:(\w+)/g, (_, name: string) =>
    encodeURIComponent(String(payload[name])),
  );
  const json = Object.fromEntries(Object.entries(payload).filter(([name]) => !params.has(name)));
  return { method: route.method, path: `/v1${url}`, json };
}

/** Sends a write through its REST route as the device of `token`. */
export function restWrite(
  baseUrl: string,
  token: string,
  event: WriteEventName,
  payload: Readonly<Record<string, unknown>>,
): Promise<RestAnswer> {
  const { method, path, json } = writeRequest(event, payload);
  return restCall(baseUrl, method, path, { token, json });
}

/** A REST answer as the socket's ack would carry it: `{ ok: true, …body }` or `{ ok: false, error }`. */
export function asAck(answer: RestAnswer): Ack {
  return answer.status >= 200 && answer.status < 300
    ? { ok: true, ...(answer.body as object) }
    : { ok: false, error: answer.body as WireError };
}

/** The ok answer of an ack (a socket's, or {@link asAck} of a REST answer); throws with the error otherwise. */
export function okOf<T extends object>(ack: Ack, what: string): { ok: true } & T {
  if (!ack.ok) throw new Error(`${what} was refused: ${JSON.stringify(ack.error)}`);
  return ack as { ok: true } & T;
}

/** A user and their devices, each signed in with the test server's secret. */
export interface SignedUser {
  readonly user: User;
  readonly devices: readonly SignedDevice[];
}

/** Users with `devicesPerUser[i]` signed devices each, in no conversation. */
export async function signedUsers(
  db: Database,
  devicesPerUser: readonly number[],
): Promise<SignedUser[]> {
  const users: SignedUser[] = [];
  for (const count of devicesPerUser) {
    const user = await userFactory.create(db);
    const devices = await deviceFactory.createList(db, count, { userId: user.id });
    users.push({
      user,
      devices: await Promise.all(
        devices.map((device) => signDevice(device, TEST_SERVER_JWT_SECRET)),
      ),
    });
  }
  return users;
}

/** Sends a write over a socket as it is (valid or not) and resolves with the ack. */
export async function socketWrite(
  client: TestClient,
  event: WriteEventName,
  payload: Readonly<Record<string, unknown>> | object,
): Promise<Ack> {
  return (await client.emitWithAck(event, payload as never)) as Ack;
}
