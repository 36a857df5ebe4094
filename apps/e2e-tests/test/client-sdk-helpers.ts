import { once } from 'node:events';
import {
  Agent,
  createServer,
  request as httpRequest,
  type ClientRequest,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import type {
  CcsClient,
  ClientEvents,
  StreamSubscription,
  StreamSubscriptionEvents,
} from '@ccs/client';
import type { ChangeEvent } from '@ccs/protocol';

/**
 * Resolves once `check` holds, asking again every 20 ms (a condition, not a fixed sleep); rejects
 * after `timeoutMs` naming what it waited for.
 */
export async function waitUntil(
  check: () => boolean | Promise<boolean>,
  description: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting until ${description}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A promise and the function that resolves it. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

/** What a promise came to, without an unhandled rejection while nobody awaits it. */
export type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

export function settle<T>(promise: Promise<T>): Promise<Settled<T>> {
  return promise.then(
    (value) => ({ ok: true, value }),
    (error: unknown) => ({ ok: false, error }),
  );
}

/** Events of one kind in the order they came, and a wait for one that has come or will. */
export class Recorded<T> {
  readonly items: T[] = [];
  private readonly watchers = new Set<(item: T) => void>();

  constructor(private readonly name: string) {}

  push(item: T): void {
    this.items.push(item);
    for (const watcher of [...this.watchers]) watcher(item);
  }

  /** The first item from index `from` on that satisfies `predicate`, now or once it arrives. */
  waitFor(
    predicate: (item: T) => boolean,
    options: { readonly from?: number; readonly timeoutMs?: number } = {},
  ): Promise<T> {
    const found = this.items.slice(options.from ?? 0).find(predicate);
    if (found !== undefined) return Promise.resolve(found);
    const timeoutMs = options.timeoutMs ?? 10_000;
    return new Promise((resolve, reject) => {
      const watcher = (item: T): void => {
        if (!predicate(item)) return;
        clearTimeout(timer);
        this.watchers.delete(watcher);
        resolve(item);
      };
      const timer = setTimeout(() => {
        this.watchers.delete(watcher);
        const last = this.items.slice(-5).map((item) => JSON.stringify(item).slice(0, 300));
        reject(
          new Error(
            `timed out after ${timeoutMs} ms waiting for a matching ${this.name}; ${this.items.length} arrived, the last: ${last.join(' | ')}`,
          ),
        );
      }, timeoutMs);
      this.watchers.add(watcher);
    });
  }
}

type StateChange = Parameters<ClientEvents['state']>[0];

/** What a client told the app: connection states, acknowledged and refused writes, ephemera. */
export interface ClientRecord {
  readonly states: Recorded<StateChange>;
  readonly written: Recorded<Parameters<ClientEvents['written']>[0]>;
  readonly rejected: Recorded<Parameters<ClientEvents['rejected']>[0]>;
  readonly presence: Recorded<Parameters<ClientEvents['presence']>[0]>;
  readonly typing: Recorded<Parameters<ClientEvents['typing']>[0]>;
}

export function recordClient(client: CcsClient): ClientRecord {
  const record: ClientRecord = {
    states: new Recorded('state'),
    written: new Recorded('written'),
    rejected: new Recorded('rejected'),
    presence: new Recorded('presence'),
    typing: new Recorded('typing'),
  };
  client.on('state', (event) => record.states.push(event));
  client.on('written', (event) => record.written.push(event));
  client.on('rejected', (event) => record.rejected.push(event));
  client.on('presence', (event) => record.presence.push(event));
  client.on('typing', (event) => record.typing.push(event));
  return record;
}

/** What a subscription handed the app. */
export interface SubscriptionRecord {
  readonly subscription: StreamSubscription;
  readonly changes: Recorded<ChangeEvent>;
  readonly live: Recorded<Parameters<StreamSubscriptionEvents['live']>[0]>;
  readonly resync: Recorded<Parameters<StreamSubscriptionEvents['resync']>[0]>;
  readonly ended: Recorded<Parameters<StreamSubscriptionEvents['ended']>[0]>;
  /** Seqs of the changes handed out, in the order they were. */
  seqs(): number[];
  /** Resolves once the change `seq` was handed out. */
  sees(seq: number): Promise<ChangeEvent>;
}

export function recordSubscription(subscription: StreamSubscription): SubscriptionRecord {
  const record: SubscriptionRecord = {
    subscription,
    changes: new Recorded(`change of ${subscription.stream}`),
    live: new Recorded('live'),
    resync: new Recorded('resync'),
    ended: new Recorded('ended'),
    seqs: () => record.changes.items.map((change) => change.seq),
    sees: (seq) => record.changes.waitFor((change) => change.seq === seq),
  };
  subscription.on('change', (change) => record.changes.push(change));
  subscription.on('live', (event) => record.live.push(event));
  subscription.on('resync', (event) => record.resync.push(event));
  subscription.on('ended', (event) => record.ended.push(event));
  return record;
}

/** `from`, `from + 1`, …, `to`. */
export const seqRange = (from: number, to: number): number[] =>
  Array.from({ length: Math.max(0, to - from + 1) }, (_, index) => from + index);

/** Engine.io v4 separates the packets of one long-polling payload with this character. */
const PACKET_SEPARATOR = '\x1e';
/** Engine.io's `noop` packet: what a dropped packet is replaced with, so the payload stays valid. */
const NOOP_PACKET = '6';

/**
 * An HTTP proxy for socket.io's long-polling transport that can lose a packet on its way to the
 * device, or deliver one twice, as a flaky middlebox or a bug between server and client would:
 * each poll answer (plain text, packets separated by `\x1e`) is read whole, and the next packet
 * that matches an armed filter is replaced with a `noop`, or repeated. Everything else passes
 * unchanged.
 */
export class PollingProxy {
  private readonly agent = new Agent({ keepAlive: false });
  private readonly upstream = new Set<ClientRequest>();
  private readonly filters: {
    readonly match: (packet: string) => boolean;
    readonly action: 'drop' | 'duplicate';
    readonly done: (packet: string) => void;
  }[] = [];
  private readonly server = createServer((request, response) => this.forward(request, response));

  private constructor(private readonly target: URL) {}

  static async open(url: string): Promise<PollingProxy> {
    const proxy = new PollingProxy(new URL(url));
    proxy.server.listen(0, '127.0.0.1');
    await once(proxy.server, 'listening');
    return proxy;
  }

  /** Where the device connects instead of the server. */
  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /**
   * Drops the next packet from server to device that satisfies `match`; resolves with it (the
   * engine.io packet as text, e.g. `42["changes",[…]]`) once it was dropped.
   */
  dropNext(match: (packet: string) => boolean): Promise<string> {
    return new Promise((resolve) => this.filters.push({ match, action: 'drop', done: resolve }));
  }

  /** Delivers the next matching packet twice in a row; resolves with it once it was. */
  duplicateNext(match: (packet: string) => boolean): Promise<string> {
    return new Promise((resolve) =>
      this.filters.push({ match, action: 'duplicate', done: resolve }),
    );
  }

  async close(): Promise<void> {
    for (const request of this.upstream) request.destroy();
    this.server.closeAllConnections();
    const closing = once(this.server, 'close');
    this.server.close();
    await closing;
    this.agent.destroy();
  }

  private forward(request: IncomingMessage, response: ServerResponse): void {
    const upstream = httpRequest(
      {
        host: this.target.hostname,
        port: Number(this.target.port),
        method: request.method,
        path: request.url,
        // Plain text answers, so that the packets can be read.
        headers: { ...request.headers, host: this.target.host, 'accept-encoding': 'identity' },
        agent: this.agent,
      },
      (answer) => {
        const chunks: Buffer[] = [];
        answer.on('data', (chunk: Buffer) => chunks.push(chunk));
        answer.on('end', () => {
          this.upstream.delete(upstream);
          const body = this.filter(Buffer.concat(chunks));
          const headers = { ...answer.headers };
          delete headers['content-length'];
          delete headers['transfer-encoding'];
          response.writeHead(answer.statusCode ?? 502, {
            ...headers,
            'content-length': body.length,
          });
          response.end(body);
        });
        answer.on('error', () => response.destroy());
      },
    );
    this.upstream.add(upstream);
    upstream.on('error', () => {
      this.upstream.delete(upstream);
      response.destroy();
    });
    request.pipe(upstream);
  }

  private filter(body: Buffer): Buffer {
    if (this.filters.length === 0) return body;
    const packets = body.toString('utf8').split(PACKET_SEPARATOR);
    const kept = packets.map((packet) => {
      const index = this.filters.findIndex((filter) => filter.match(packet));
      if (index === -1) return packet;
      const [filter] = this.filters.splice(index, 1);
      filter!.done(packet);
      return filter!.action === 'drop' ? NOOP_PACKET : `${packet}${PACKET_SEPARATOR}${packet}`;
    });
    return Buffer.from(kept.join(PACKET_SEPARATOR), 'utf8');
  }
}
