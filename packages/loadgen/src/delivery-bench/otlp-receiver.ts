import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Exports an {@link OtlpReceiver} took (since the last `take`). */
export interface OtlpReceived {
  readonly requests: number;
  readonly bytes: number;
}

/** A stand-in OTLP/HTTP collector on loopback. */
export interface OtlpReceiver {
  /** The traces endpoint, `http://127.0.0.1:<port>/v1/traces`. */
  readonly url: string;
  /** Counts since the previous call. */
  take(): OtlpReceived;
  close(): Promise<void>;
}

/**
 * What the bench's traced gateway exports to: a node:http server on a loopback port that reads
 * every request's body to the end, drops it and answers `200 {}` (an OTLP/HTTP success with
 * nothing rejected), so the gateway pays for the whole export (encoding, the HTTP request, its
 * answer) and nothing is kept here.
 */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  let requests = 0;
  let bytes = 0;
  const server = createServer((request, response) => {
    request.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
    });
    request.on('end', () => {
      requests++;
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1/traces`,
    take() {
      const counts = { requests, bytes };
      requests = 0;
      bytes = 0;
      return counts;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
