import type { MemberFailure } from './fleet-connect-error.js';
import { TestClientError } from './test-client-error.js';

/**
 * Thrown by `Fleet.waitForAll` when some members did not get the event in time; each failure's
 * `error` is that member's `WaitForTimeoutError`, listing what it did receive.
 */
export class FleetWaitTimeoutError extends TestClientError {
  override readonly name = 'FleetWaitTimeoutError';

  constructor(
    readonly event: string,
    readonly timeoutMs: number,
    readonly failures: readonly MemberFailure[],
    readonly size: number,
  ) {
    const lines = failures.slice(0, 5).map(({ member, error }) => {
      const message = error instanceof Error ? error.message : String(error);
      return `  ${member}: ${message.replace(/\n/g, '\n    ')}`;
    });
    const more = failures.length > 5 ? `\n  … and ${failures.length - 5} more` : '';
    const names = failures.slice(0, 20).map((failure) => failure.member);
    if (failures.length > 20) names.push('…');
    super(
      'fleet_wait_timeout',
      `${failures.length} of ${size} fleet members got no matching "${event}" within ` +
        `${timeoutMs} ms (${names.join(', ')}):\n${lines.join('\n')}${more}`,
    );
  }
}
