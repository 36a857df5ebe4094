import type { ConnectionState, StateTransition } from './connection-state.js';
import { StateTimeoutError } from './state-timeout-error.js';

/** Options of {@link ConnectionStateMachine.waitFor}. */
export interface WaitForStateOptions {
  /** @default 5000 */
  readonly timeout?: number;
  /**
   * Only a transition with `index >= since` counts, not the state the client is already in.
   * Take `client.transitions.length` before acting to wait for the state the action leads to.
   * @default undefined (the current state counts)
   */
  readonly since?: number;
}

interface StateWait {
  readonly state: ConnectionState;
  readonly check: (transition: StateTransition) => void;
  readonly cancel: (error: Error) => void;
}

/** The states a client went through, and waits on them. */
export class ConnectionStateMachine {
  private currentState: ConnectionState = 'idle';
  private readonly recorded: StateTransition[] = [];
  private readonly waits = new Set<StateWait>();

  constructor(private readonly clientName: string) {}

  get state(): ConnectionState {
    return this.currentState;
  }

  get transitions(): readonly StateTransition[] {
    return this.recorded;
  }

  /** Moves to `to` (a no-op if already there) and wakes the waits for it. */
  transition(to: ConnectionState, reason?: string): void {
    if (to === this.currentState) return;
    const transition: StateTransition = {
      index: this.recorded.length,
      from: this.currentState,
      to,
      at: Date.now(),
      ...(reason === undefined ? {} : { reason }),
    };
    this.currentState = to;
    this.recorded.push(transition);
    for (const wait of [...this.waits]) wait.check(transition);
  }

  /** Resolves once the client is in `state` (or, with `since`, has entered it since then). */
  waitFor(state: ConnectionState, options: WaitForStateOptions = {}): Promise<void> {
    const timeout = options.timeout ?? 5000;
    const reached =
      options.since === undefined
        ? this.currentState === state
        : this.recorded.slice(options.since).some((transition) => transition.to === state);
    if (reached) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const wait: StateWait = {
        state,
        check: (transition) => {
          if (transition.to !== state) return;
          this.waits.delete(wait);
          clearTimeout(timer);
          resolve();
        },
        cancel: (error) => {
          this.waits.delete(wait);
          clearTimeout(timer);
          reject(error);
        },
      };
      const timer = setTimeout(() => {
        this.waits.delete(wait);
        reject(
          new StateTimeoutError(
            state,
            timeout,
            this.currentState,
            [...this.recorded],
            this.clientName,
          ),
        );
      }, timeout);
      this.waits.add(wait);
    });
  }

  /** Rejects every pending wait with the error `makeError` builds for the awaited state. */
  cancelAll(makeError: (waitingFor: string) => Error): void {
    for (const wait of [...this.waits]) wait.cancel(makeError(`state "${wait.state}"`));
  }
}
