import type { ClientToServerEvents, ServerToClientEvents } from '@ccs/protocol';

/** An event the server sends, e.g. `change`. */
export type ServerEventName = keyof ServerToClientEvents & string;
/** The arguments of a server event, e.g. `[ChangeEvent]` for `change`. */
export type ServerEventArgs<E extends ServerEventName> = Parameters<ServerToClientEvents[E]>;
/** An event the client sends with an ack, e.g. `subscribe`. */
export type ClientEventName = keyof ClientToServerEvents & string;
/** The payload of a client event. */
export type ClientEventPayload<E extends ClientEventName> = Parameters<ClientToServerEvents[E]>[0];
/** What the server acks a client event with: `{ ok: true, … }` or `{ ok: false, error }`. */
export type ClientEventAck<E extends ClientEventName> = Parameters<
  Parameters<ClientToServerEvents[E]>[1]
>[0];

/** Options of `waitFor`, `waitForCount` and the `toReceiveEvent` matcher. */
export interface WaitForOptions<Args extends unknown[]> {
  /** Only an event whose arguments satisfy this counts. @default every event of that name */
  readonly predicate?: (...args: Args) => boolean;
  /** Milliseconds to wait. @default 5000 */
  readonly timeout?: number;
}
