// `@ccs/jobs/testing`: a webhook receiver for tests of offline notifications (this package's,
// the sync-server's, a sibling app's): a real HTTP server on loopback that checks signatures
// and counts what it received and what it answered.
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { WebhookNotification } from './webhook-worker.js';
import {
  verifyWebhookSignature,
  WEBHOOK_ID_HEADER,
  WEBHOOK_SIGNATURE_HEADER,
} from './webhook-signature.js';

/** One POST the receiver got. */
export interface ReceivedWebhook {
  /** The `ccs-webhook-id` header. */
  readonly id: string;
  readonly body: string;
  readonly notification: WebhookNotification;
  /** Whether the signature matched the receiver's secret (and its timestamp was fresh). */
  readonly signatureValid: boolean;
  /** `Date.now()` at arrival. */
  readonly receivedAt: number;
  /** The status answered; undefined while the answer is pending or when the sender left first. */
  status?: number;
}

/** Decides the status of each POST; may wait (the sender waits too). */
export type WebhookResponder = (request: ReceivedWebhook) => number | Promise<number>;

/**
 * A webhook endpoint on 127.0.0.1 for tests. Every POST is recorded in `received`; the
 * responder (200 by default) decides the answer, and those whose 2xx reached the sender are in
 * `acknowledged`: that is what "notified" means to the sender.
 *
 * @example
 * const receiver = await WebhookReceiver.start();
 * receiver.secret = endpoint.secret;
 * await receiver.waitFor((r) => r.acknowledged.length === 1);
 */
export class WebhookReceiver {
  readonly received: ReceivedWebhook[] = [];
  /** POSTs answered 2xx, whose answer was written before the sender went away. */
  readonly acknowledged: ReceivedWebhook[] = [];
  /** The endpoint's secret, to check signatures with. */
  secret = '';
  respond: WebhookResponder = () => 200;

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(): Promise<WebhookReceiver> {
    const server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    const receiver = new WebhookReceiver(server, `http://127.0.0.1:${port}/hook`);
    server.on('request', (request, response) => {
      void receiver.handle(request).then(
        async (received) => {
          const status = await receiver.respond(received);
          if (response.destroyed || request.socket.destroyed) return;
          response.statusCode = status;
          response.end();
          await once(response, 'finish');
          received.status = status;
          if (status >= 200 && status < 300) receiver.acknowledged.push(received);
        },
        () => {
          response.statusCode = 400;
          response.end();
        },
      );
    });
    return receiver;
  }

  /** Resolves once `condition` holds (checked every 10 ms), or rejects after `timeoutMs`. */
  async waitFor(condition: (receiver: this) => boolean, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition(this)) {
      if (Date.now() > deadline) {
        throw new Error(
          `webhook receiver: condition not met within ${timeoutMs} ms (${this.received.length} received, ${this.acknowledged.length} acknowledged)`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(request: IncomingMessage): Promise<ReceivedWebhook> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    let signatureValid = true;
    try {
      verifyWebhookSignature({
        secret: this.secret,
        header: header(request, WEBHOOK_SIGNATURE_HEADER),
        body,
      });
    } catch {
      signatureValid = false;
    }
    const received: ReceivedWebhook = {
      id: header(request, WEBHOOK_ID_HEADER) ?? '',
      body,
      notification: JSON.parse(body) as WebhookNotification,
      signatureValid,
      receivedAt: Date.now(),
    };
    this.received.push(received);
    return received;
  }
}

function header(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
