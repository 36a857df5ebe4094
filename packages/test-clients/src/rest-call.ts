// A REST call for tests: one HTTP request over loopback on a connection of its own.
import { request, type IncomingHttpHeaders } from 'node:http';

/** What a REST call answered: JSON bodies parsed, others as bytes. */
export interface RestAnswer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: unknown;
}

/** Options of {@link restCall}. */
export interface RestCallOptions {
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
export function restCall(
  baseUrl: string,
  method: string,
  path: string,
  options: RestCallOptions = {},
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
