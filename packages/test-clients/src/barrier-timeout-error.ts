import { TestClientError } from './test-client-error.js';

/** Thrown by `Barrier.arrive` when not every party arrived in time. */
export class BarrierTimeoutError extends TestClientError {
  override readonly name = 'BarrierTimeoutError';

  constructor(
    readonly parties: number,
    readonly arrived: number,
    readonly timeoutMs: number,
  ) {
    super(
      'barrier_timeout',
      `only ${arrived} of ${parties} parties reached the barrier within ${timeoutMs} ms; ` +
        'did every party call arrive()?',
    );
  }
}
