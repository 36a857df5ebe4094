import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { restCall } from './rest-call.js';

interface Received {
  readonly method: string | undefined;
  readonly url: string | undefined;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

let server: Server;
let baseUrl: string;
const received: Received[] = [];

beforeAll(async () => {
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      received.push({ method: request.method, url: request.url, headers: request.headers, body });
      if (request.url === '/bytes') {
        response.writeHead(200, { 'content-type': 'application/octet-stream' });
        response.end(Buffer.from([1, 2, 3]));
        return;
      }
      response.writeHead(201, { 'content-type': 'application/json; charset=utf-8' });
      response.end(JSON.stringify({ echoed: body }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve, reject) =>
    server.close((error) => (error ? reject(error) : resolve())),
  );
});

describe('restCall', () => {
  it('sends JSON with a bearer token and a length (a DELETE too), and parses a JSON answer', async () => {
    const answer = await restCall(baseUrl, 'DELETE', '/v1/things/1', {
      token: 't0ken',
      json: { reason: 'gone' },
    });
    expect(answer.status).toBe(201);
    expect(answer.body).toEqual({ echoed: '{"reason":"gone"}' });
    const request = received.at(-1)!;
    expect(request).toMatchObject({ method: 'DELETE', url: '/v1/things/1' });
    expect(request.headers).toMatchObject({
      authorization: 'Bearer t0ken',
      'content-type': 'application/json',
      'content-length': '17',
      connection: 'close',
    });
  });

  it('sends bytes with their content type, and answers other bodies as bytes', async () => {
    const answer = await restCall(baseUrl, 'PUT', '/bytes', {
      bytes: 'héllo',
      contentType: 'text/plain',
    });
    expect(received.at(-1)).toMatchObject({ body: 'héllo' });
    expect(received.at(-1)!.headers).toMatchObject({
      'content-type': 'text/plain',
      'content-length': '6',
    });
    expect(answer.body).toEqual(Buffer.from([1, 2, 3]));
  });

  it('rejects when nothing listens', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    await expect(restCall(`http://127.0.0.1:${port}`, 'GET', '/')).rejects.toMatchObject({
      code: 'ECONNREFUSED',
    });
  });
});
