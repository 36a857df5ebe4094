import {
  describeProblems,
  formatSeqs,
  listSeqs,
  type DeliveryProblems,
} from './delivery-problems.js';
import { TestClientError } from './test-client-error.js';

/** How many failing clients the message lists. */
const LISTED = 20;

/** One client whose deliveries of a stream did not match. */
export interface DeliveryFailure {
  /** The client's name (a fleet member's name or index). */
  readonly member: string;
  /** Seqs of the stream it received, in arrival order. */
  readonly received: readonly number[];
  readonly problems: DeliveryProblems;
}

/**
 * Thrown when a client (or fleet members) did not receive each expected change of a stream
 * exactly once and in order; names each member and its missing, duplicate, unexpected and
 * out-of-order seqs.
 */
export class DeliveryAssertionError extends TestClientError {
  override readonly name = 'DeliveryAssertionError';

  constructor(
    readonly stream: string,
    readonly expected: readonly number[],
    readonly failures: readonly DeliveryFailure[],
    /** How many clients were checked. */
    readonly checked: number,
  ) {
    const lines = failures
      .slice(0, LISTED)
      .map(
        (failure) =>
          `  ${failure.member}: ${describeProblems(failure.problems)}` +
          ` (received ${failure.received.length ? listSeqs(failure.received) : 'nothing'})`,
      );
    super(
      'delivery_mismatch',
      `${failures.length} of ${checked} client(s) did not receive ${stream} seqs ` +
        `${formatSeqs(expected)} exactly once and in order:\n${lines.join('\n')}` +
        (failures.length > LISTED ? `\n  … and ${failures.length - LISTED} more` : ''),
    );
  }
}
