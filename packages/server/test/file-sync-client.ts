// A small HTTP helper for the file-sync and snapshot tests: a device's `/v1` requests over
// loopback (through rest-client's `call`), with users and signed devices made by the fixtures.
import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { Database } from '@ccs/db';
import { createDevice, createUser, signDevice } from '@ccs/fixtures';
import type {
  Ack,
  CreateResult,
  FilePushPayload,
  FilePushResult,
  StreamName,
  StreamSnapshot,
  WireError,
  WriteEventName,
  WritePayloads,
} from '@ccs/protocol';
import { TEST_SERVER_JWT_SECRET } from '@ccs/test-server';
import { restCall } from '@ccs/test-clients';
import { asAck, restWrite } from './rest-client.js';

/** A signed-in device of a user. */
export interface TestDevice {
  readonly userId: string;
  readonly deviceId: string;
  readonly token: string;
}

/** A user with `devices` signed-in devices. */
export async function userWithDevices(db: Database, devices: number): Promise<TestDevice[]> {
  const user = await createUser(db);
  const signed: TestDevice[] = [];
  for (let i = 0; i < devices; i++) {
    const device = await signDevice(await createDevice(db, user), TEST_SERVER_JWT_SECRET);
    signed.push({ userId: user.id, deviceId: device.id, token: device.token });
  }
  return signed;
}

/** SHA-256 of bytes in lowercase hex: how file contents are named. */
export function sha256(content: Uint8Array | string): string {
  return createHash('sha256').update(content).digest('hex');
}

/** An HTTP answer: its status and JSON body (or bytes for `application/octet-stream`). */
export interface HttpAnswer<T = unknown> {
  readonly status: number;
  readonly body: T;
  readonly headers: IncomingHttpHeaders;
}

/** What a failed request answers. */
export type ErrorAnswer = HttpAnswer<WireError>;

/** A device's REST client against one server. */
export class DeviceHttp {
  constructor(
    private readonly baseUrl: string,
    readonly device: TestDevice,
  ) {}

  /** One `/v1` request as this device ({@link call}); JSON answers are parsed, others are bytes. */
  async request<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    contentType = 'application/json',
  ): Promise<HttpAnswer<T>> {
    const options =
      body === undefined
        ? {}
        : body instanceof Uint8Array || contentType !== 'application/json'
          ? { bytes: body as Uint8Array | string, contentType }
          : { json: body };
    return (await restCall(this.baseUrl, method, `/v1${path}`, {
      token: this.device.token,
      ...options,
    })) as HttpAnswer<T>;
  }

  /** A write of the protocol through its REST route, answered as the socket's ack would be. */
  async perform<E extends WriteEventName>(
    event: E,
    payload: WritePayloads[E][0],
  ): Promise<Ack<WritePayloads[E][1]>> {
    return asAck(
      await restWrite(this.baseUrl, this.device.token, event, payload as Record<string, unknown>),
    ) as Ack<WritePayloads[E][1]>;
  }

  /** `POST /v1/workspaces`; throws unless it was created. */
  async createWorkspace(name: string, memberIds: readonly string[] = []): Promise<CreateResult> {
    const answer = await this.request<CreateResult>('POST', '/workspaces', {
      clientId: `ws-${Math.random().toString(36).slice(2)}`,
      name,
      ...(memberIds.length > 0 && { memberIds }),
    });
    if (answer.status !== 200) {
      throw new Error(`workspace not created: ${answer.status} ${JSON.stringify(answer.body)}`);
    }
    return answer.body;
  }

  /** `PUT /v1/workspaces/:id/contents/:hash` (the hash of the bytes unless given). */
  upload(
    workspaceId: string,
    content: Uint8Array | string,
    hash?: string,
  ): Promise<HttpAnswer<{ hash: string; sizeBytes: number } | WireError>> {
    const bytes = typeof content === 'string' ? Buffer.from(content) : content;
    return this.request(
      'PUT',
      `/workspaces/${workspaceId}/contents/${hash ?? sha256(bytes)}`,
      bytes,
      'application/octet-stream',
    );
  }

  /** Uploads content and answers its hash; throws unless it was stored. */
  async uploaded(workspaceId: string, content: string): Promise<string> {
    const answer = await this.upload(workspaceId, content);
    if (answer.status !== 200) {
      throw new Error(`content not stored: ${answer.status} ${JSON.stringify(answer.body)}`);
    }
    return sha256(content);
  }

  /** `GET /v1/workspaces/:id/contents/:hash`. */
  download(workspaceId: string, hash: string): Promise<HttpAnswer<Buffer | WireError>> {
    return this.request('GET', `/workspaces/${workspaceId}/contents/${hash}`);
  }

  /** `POST /v1/workspaces/:id/files`. */
  push(change: FilePushPayload): Promise<HttpAnswer<FilePushResult | WireError>> {
    const { workspaceId, ...body } = change;
    return this.request('POST', `/workspaces/${workspaceId}/files`, body);
  }

  /** `GET /v1/streams/:stream/snapshot`; throws unless it answered one. */
  async snapshot<S extends StreamSnapshot = StreamSnapshot>(
    stream: StreamName,
    messages?: number,
  ): Promise<S> {
    const query = messages === undefined ? '' : `?messages=${messages}`;
    const answer = await this.request<S>('GET', `/streams/${stream}/snapshot${query}`);
    if (answer.status !== 200) {
      throw new Error(`no snapshot: ${answer.status} ${JSON.stringify(answer.body)}`);
    }
    return answer.body;
  }
}
