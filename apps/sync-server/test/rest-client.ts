// Helpers of the REST tests: one HTTP call over loopback, a write sent as its REST route (from
// WRITE_ROUTES, so a route is tested as it is declared), and users with signed devices.
import { request, type IncomingHttpHeaders } from 'node:http';
import type { Database, User } from '@ccs/db';
import { deviceFactory, signDevice, userFactory, type SignedDevice } from '@ccs/fixtures';
import type { Ack, WireError, WriteEventName } from '@ccs/protocol';
import type { TestClient } from '@ccs/test-clients';
import { WRITE_ROUTES } from '../src/http/rest-routes.js';
import { TEST_JWT_SECRET } from './server-fixtures.js';

/** Server limits high enough that a test's own requests are never rate limited. */
export const UNLIMITED: Readonly<Record<string, string>> = {
  CCS_SENDS_PER_SECOND: '100000',
  CCS_SEND_BURST: '100000',
  CCS_SENDS_IN_FLIGHT_PER_SOCKET: '1000',
  CCS_REST_REQUESTS_PER_SECOND: '100000',
  CCS_REST_REQUEST_BURST: '100000',
};

/** What a REST call answered: JSON bodies parsed, others as bytes. */
export interface RestAnswer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: unknown;
}

/** Options of {@link call}. */
export interface CallOptions {
  /** Sent as `Authorization: Bearer <token>`. */
  readonly token?: string;
  /** Sent as JSON. */
  readonly json?: unknown;
  /** Sent as it is, with `contentType` (default `application/octet-stream`). */
  readonly bytes?: Uint8Array | string;
  readonly contentType?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * One HTTP request to `baseUrl + path`, on a connection of its own that closes with the answer
 * (no keep-alive socket outlives the test); the body is always read.
 */
export function call(
  baseUrl: string,
  method: string,
  path: string,
  options: CallOptions = {},
): Promise<RestAnswer> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  let body: Uint8Array | string | undefined;
  if (options.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.json);
  } else if (options.bytes !== undefined) {
    headers['content-type'] = options.contentType ?? 'application/octet-stream';
    body = options.bytes;
  }
  // Node sends no Content-Length (nor chunks) for a DELETE's body unless told.
  if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
  return new Promise((resolve, reject) => {
    const outgoing = request(`${baseUrl}${path}`, { method, headers, agent: false }, (incoming) => {
      const chunks: Buffer[] = [];
      incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
      incoming.on('error', reject);
      incoming.on('end', () => {
        const bytes = Buffer.concat(chunks);
        const json = incoming.headers['content-type']?.startsWith('application/json');
        resolve({
          status: incoming.statusCode ?? 0,
          headers: incoming.headers,
          body: json ? (JSON.parse(bytes.toString('utf8')) as unknown) : bytes,
        });
      });
    });
    // The server may answer (413) and close before it has read the whole body.
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

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
  return call(baseUrl, method, path, { token, json });
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
      devices: await Promise.all(devices.map((device) => signDevice(device, TEST_JWT_SECRET))),
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
