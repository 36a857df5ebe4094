import type { ConnectionState, StateTransition } from './connection-state.js';
import { TestClientError } from './test-client-error.js';

/** Thrown by `waitForState` when the connection did not reach the state in time. */
export class StateTimeoutError extends TestClientError {
  override readonly name = 'StateTimeoutError';

  constructor(
    readonly expected: ConnectionState,
    readonly timeoutMs: number,
    readonly current: ConnectionState,
    readonly transitions: readonly StateTransition[],
    readonly client?: string,
  ) {
    const path = transitions.map((t) => `${t.to}${t.reason ? ` (${t.reason})` : ''}`).join(' → ');
    super(
      'state_timeout',
      `${client ?? 'client'} did not reach "${expected}" within ${timeoutMs} ms; ` +
        `it is "${current}" after: idle${path ? ` → ${path}` : ''}`,
    );
  }
}
