/**
 * `import '@ccs/test-clients/vitest'` (in a test file or a `setupFiles` entry) registers the
 * {@link testClientMatchers} with vitest's `expect` and adds their types to `Assertion`.
 *
 * @example
 * import '@ccs/test-clients/vitest';
 * await expect(client).toReceiveEvent('change', { predicate: (c) => c.seq === 1 });
 * expect(client).toHaveReceivedEvent('change');
 * @module
 */
import { expect } from 'vitest';
import type { ServerEventArgs, ServerEventName, WaitForOptions } from './event-types.js';
import { testClientMatchers } from './matchers.js';

expect.extend(testClientMatchers);

export { testClientMatchers, type MatcherOutcome, type TestClientMatchers } from './matchers.js';

declare module 'vitest' {
  // The type parameter must repeat vitest's declaration for the interfaces to merge.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any, @typescript-eslint/no-unused-vars
  interface Assertion<T = any> {
    /** Waits for a matching `event` on a `TestClient`; the failure lists what arrived. */
    toReceiveEvent<E extends ServerEventName>(
      event: E,
      options?: WaitForOptions<ServerEventArgs<E>>,
    ): Promise<void>;
    /** Checks that a `TestClient` has already received a matching `event`. */
    toHaveReceivedEvent<E extends ServerEventName>(
      event: E,
      predicate?: (...args: ServerEventArgs<E>) => boolean,
    ): void;
  }
}
