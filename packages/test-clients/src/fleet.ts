import { Barrier, type BarrierOptions } from './barrier.js';
import { DeliveryAssertionError, type DeliveryFailure } from './delivery-assertion-error.js';
import { expectedSeqList, type ExpectedSeqs } from './delivery-problems.js';
import type { ServerEventArgs, ServerEventName, WaitForOptions } from './event-types.js';
import { FleetConnectError, type MemberFailure } from './fleet-connect-error.js';
import { FleetWaitTimeoutError } from './fleet-wait-timeout-error.js';
import { LatencyStats, type LatencySummary } from './latency-stats.js';
import { TestClient } from './test-client.js';
import type { DeliveryCheckOptions, TestClientOptions } from './test-client-options.js';

/** One member's own options; `url` may be left to {@link FleetOptions.url}. */
export type FleetMemberOptions = Omit<TestClientOptions, 'url'> & { readonly url?: string };

/** Options of {@link Fleet.connect}. Give `tokens` or `clients`. */
export interface FleetOptions {
  /** Server URL of every member that has none of its own. @default none: each member's own */
  readonly url?: string;
  /** One member per token, named `member-<index>`. @default none: give `clients` */
  readonly tokens?: readonly string[];
  /**
   * One member per entry, for members that need their own name, URL or options.
   * @default none: give `tokens`
   */
  readonly clients?: readonly FleetMemberOptions[];
  /** At most this many handshakes in flight at once. @default 10 */
  readonly concurrency?: number;
  /** Options every member shares (its own entry wins). @default {} */
  readonly shared?: Partial<Omit<TestClientOptions, 'url' | 'token' | 'name'>>;
}

/**
 * N test clients driven together: connected in parallel with a concurrency limit, awaited
 * together, and checked together for exactly-once, in-order delivery.
 *
 * @example
 * const fleet = await Fleet.connect({ url, tokens, concurrency: 20 });
 * await fleet.each((client) => client.emitWithAck('subscribe', { stream }));
 * // … one write …
 * await fleet.waitForAll('change', { predicate: (c) => c.seq === 1 });
 * await fleet.expectEachReceivedOnce(stream, 1);
 * console.log(fleet.latency()); // { count, p50, p90, p99, max, … }
 * fleet.close();
 */
export class Fleet implements Iterable<TestClient> {
  private constructor(
    /** The members, in the order their options were given. */
    readonly clients: readonly TestClient[],
  ) {}

  /**
   * Connects every member, at most `concurrency` handshakes at once. If one fails, no further
   * handshake starts, every member is closed and a {@link FleetConnectError} names who failed.
   */
  static async connect(options: FleetOptions): Promise<Fleet> {
    const clients = memberOptions(options).map((member) => new TestClient(member));
    const failures: MemberFailure[] = [];
    let next = 0;
    const connectNext = async (): Promise<void> => {
      while (next < clients.length && failures.length === 0) {
        const client = clients[next++]!;
        try {
          await client.open();
        } catch (error) {
          failures.push({ member: client.name, error });
        }
      }
    };
    const workers = Math.min(Math.max(1, options.concurrency ?? 10), clients.length);
    await Promise.all(Array.from({ length: workers }, connectNext));
    if (failures.length > 0) {
      for (const client of clients) client.close();
      throw new FleetConnectError(failures, clients.length);
    }
    return new Fleet(clients);
  }

  get size(): number {
    return this.clients.length;
  }

  [Symbol.iterator](): Iterator<TestClient> {
    return this.clients[Symbol.iterator]();
  }

  /** A {@link Barrier} for every member: `await barrier.arrive()` in each task of `each`. */
  barrier(options: BarrierOptions = {}): Barrier {
    return new Barrier(this.size, options);
  }

  /** Runs `task` for every member concurrently; resolves with the results in member order. */
  each<T>(task: (client: TestClient, index: number) => Promise<T> | T): Promise<T[]> {
    return Promise.all(this.clients.map(async (client, index) => task(client, index)));
  }

  /**
   * Resolves with each member's matching `event` once every member has one; rejects with a
   * {@link FleetWaitTimeoutError} naming the members that did not, and what they received.
   */
  async waitForAll<E extends ServerEventName>(
    event: E,
    options: WaitForOptions<ServerEventArgs<E>> = {},
  ): Promise<ServerEventArgs<E>[]> {
    const results = await Promise.allSettled(
      this.clients.map((client) => client.waitFor(event, options)),
    );
    const failures = results.flatMap((result, index) =>
      result.status === 'rejected'
        ? [{ member: this.clients[index]!.name, error: result.reason }]
        : [],
    );
    if (failures.length > 0) {
      throw new FleetWaitTimeoutError(event, options.timeout ?? 5000, failures, this.size);
    }
    return results.map((result) => (result as PromiseFulfilledResult<ServerEventArgs<E>>).value);
  }

  /**
   * Waits (up to `timeout`) for every member to receive the expected seqs of `stream`, then
   * asserts each got every one exactly once, in order, and nothing else; rejects with a
   * {@link DeliveryAssertionError} naming each failing member and its missing, duplicate,
   * unexpected and out-of-order seqs.
   *
   * @param expected `n` for seqs 1..n, or the exact seqs in order (e.g. those after a `since`).
   */
  async expectEachReceivedOnce(
    stream: string,
    expected: ExpectedSeqs,
    options: DeliveryCheckOptions = {},
  ): Promise<void> {
    const reports = await Promise.all(
      this.clients.map((client) => client.checkDelivery(stream, expected, options)),
    );
    const failures = reports.filter((report): report is DeliveryFailure => report !== undefined);
    if (failures.length > 0) {
      throw new DeliveryAssertionError(stream, expectedSeqList(expected), failures, this.size);
    }
  }

  /** Commit-to-receive latency percentiles over every change every member received, in ms. */
  latency(stream?: string): LatencySummary {
    const stats = new LatencyStats();
    for (const client of this.clients) {
      for (const { latencyMs } of client.changes(stream)) stats.record(latencyMs);
    }
    return stats.summary();
  }

  /** Closes every member. */
  close(): void {
    for (const client of this.clients) client.close();
  }
}

function memberOptions(options: FleetOptions): TestClientOptions[] {
  const { url, tokens, clients, shared = {} } = options;
  if ((tokens === undefined) === (clients === undefined)) {
    throw new TypeError('Fleet.connect needs exactly one of `tokens` or `clients`');
  }
  const members: readonly FleetMemberOptions[] =
    clients ?? tokens!.map((token, index) => ({ token, name: `member-${index}` }));
  return members.map((member, index) => {
    const memberUrl = member.url ?? url;
    if (memberUrl === undefined) {
      throw new TypeError(`Fleet member ${index} has no url: give \`url\` or the member's own`);
    }
    return { name: `member-${index}`, ...shared, ...member, url: memberUrl };
  });
}
