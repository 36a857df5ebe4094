import { describeEvent, describeEvents } from './describe-events.js';
import type { ServerEventArgs, ServerEventName, WaitForOptions } from './event-types.js';
import { TestClient } from './test-client.js';
import { WaitForTimeoutError } from './wait-for-timeout-error.js';

/** What a matcher returns to `expect` (the shape vitest and jest share). */
export interface MatcherOutcome {
  readonly pass: boolean;
  readonly message: () => string;
}

/** Any predicate: the typed signatures live in the `./vitest` augmentation. */
type AnyPredicate = (...args: never[]) => boolean;
type ServerEventPredicate = (...args: ServerEventArgs<ServerEventName>) => boolean;

/**
 * Matchers on a {@link TestClient}, for `expect.extend(testClientMatchers)`; importing
 * `@ccs/test-clients/vitest` does that and types them. This file imports no test runner.
 *
 * - `await expect(client).toReceiveEvent('change', { predicate, timeout })`: waits for a
 *   matching event (already received or still to come); its failure lists what arrived.
 *   With `.not`, it waits the whole timeout, so give a short one.
 * - `expect(client).toHaveReceivedEvent('change', predicate?)`: checks the history now.
 */
export const testClientMatchers = {
  async toReceiveEvent(
    received: unknown,
    event: ServerEventName,
    options: WaitForOptions<never[]> = {},
  ): Promise<MatcherOutcome> {
    const client = asTestClient(received, 'toReceiveEvent');
    const which = `"${event}"${options.predicate ? ' matching the predicate' : ''}`;
    try {
      const predicate = options.predicate as ServerEventPredicate | undefined;
      const args = await client.waitFor(event, { ...options, predicate });
      const entry = { direction: 'in', event, args, at: Date.now() } as const;
      return {
        pass: true,
        message: () =>
          `expected ${client.name} not to receive ${which}, but it received ${describeEvent(entry)}`,
      };
    } catch (error) {
      if (!(error instanceof WaitForTimeoutError)) throw error;
      return {
        pass: false,
        message: () => `expected ${client.name} to receive ${which}: ${error.message}`,
      };
    }
  },

  toHaveReceivedEvent(
    received: unknown,
    event: ServerEventName,
    predicate?: AnyPredicate,
  ): MatcherOutcome {
    const client = asTestClient(received, 'toHaveReceivedEvent');
    const which = `"${event}"${predicate ? ' matching the predicate' : ''}`;
    const matches = client.received(event, predicate as ServerEventPredicate | undefined);
    const first = matches[0];
    return first
      ? {
          pass: true,
          message: () =>
            `expected ${client.name} not to have received ${which}, but it received ` +
            `${matches.length}, the first: ` +
            describeEvent({ direction: 'in', event, args: first, at: 0 }),
        }
      : {
          pass: false,
          message: () =>
            `expected ${client.name} to have received ${which}; ${describeEvents(client.history)}`,
        };
  },
};

/** The matchers' names and signatures, for frameworks other than vitest to type them. */
export type TestClientMatchers = typeof testClientMatchers;

function asTestClient(value: unknown, matcher: string): TestClient {
  if (value instanceof TestClient) return value;
  throw new TypeError(
    `${matcher} expects a TestClient, got ${Object.prototype.toString.call(value)}`,
  );
}
