import type { ChangeEvent, ClientToServerEvents, ServerToClientEvents } from '@ccs/protocol';

/**
 * The server's events as a test sees them: each `changes` frame is unpacked into one `change`
 * per change it carries, in order, so a test reads the same whether or not the server batched.
 */
export type TestClientServerEvents = Omit<ServerToClientEvents, 'changes'> & {
  change: (event: ChangeEvent) => void;
};

/** An event the server sends, as a test sees it: e.g. `change`, `resync_required`. */
export type ServerEventName = keyof TestClientServerEvents & string;
/** The arguments of a server event, e.g. `[ChangeEvent]` for `change`. */
export type ServerEventArgs<E extends ServerEventName> = Parameters<TestClientServerEvents[E]>;
/** An event the client sends with an ack, e.g. `subscribe`. */
export type ClientEventName = keyof ClientToServerEvents & string;
/** The payload of a client event. */
export type ClientEventPayload<E extends ClientEventName> = Parameters<ClientToServerEvents[E]>[0];
/** What the server acks a client event with: `{ ok: true, … }` or `{ ok: false, error }`. */
export type ClientEventAck<E extends ClientEventName> = Parameters<
  NonNullable<Parameters<ClientToServerEvents[E]>[1]>
>[0];

/** Options of `waitFor`, `waitForCount` and the `toReceiveEvent` matcher. */
export interface WaitForOptions<Args extends unknown[]> {
  /** Only an event whose arguments satisfy this counts. @default every event of that name */
  readonly predicate?: (...args: Args) => boolean;
  /** Milliseconds to wait. @default 5000 */
  readonly timeout?: number;
}
