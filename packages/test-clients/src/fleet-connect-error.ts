import { TestClientError } from './test-client-error.js';

/** One fleet member that could not connect. */
export interface MemberFailure {
  readonly member: string;
  readonly error: unknown;
}

/** Thrown by `Fleet.connect` when a member could not connect; the others are closed. */
export class FleetConnectError extends TestClientError {
  override readonly name = 'FleetConnectError';

  constructor(
    readonly failures: readonly MemberFailure[],
    /** How many members the fleet was to have. */
    readonly size: number,
  ) {
    const lines = failures.slice(0, 10).map(({ member, error }) => {
      const data = (error as { data?: unknown } | undefined)?.data;
      const message = error instanceof Error ? error.message : String(error);
      return `  ${member}: ${message}${data === undefined ? '' : ` ${JSON.stringify(data)}`}`;
    });
    const more = failures.length > 10 ? `\n  … and ${failures.length - 10} more` : '';
    super(
      'fleet_connect_failed',
      `${failures.length} of ${size} fleet members could not connect ` +
        `(the fleet was closed):\n${lines.join('\n')}${more}`,
      { cause: failures[0]?.error },
    );
  }
}
