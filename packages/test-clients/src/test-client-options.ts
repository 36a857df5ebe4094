/** Options of `TestClient`. */
export interface TestClientOptions {
  /** Server URL, e.g. `http://127.0.0.1:3000`. */
  readonly url: string;
  /** Device token for the handshake (`auth: { token }`). */
  readonly token: string;
  /** Names the client in error messages. @default `client-<n>` */
  readonly name?: string;
  /** Reconnect automatically after a drop. @default false */
  readonly reconnection?: boolean;
  /** First delay before an automatic reconnect, in ms (it doubles up to 1 s). @default 100 */
  readonly reconnectionDelay?: number;
  /** Automatic reconnect attempts before giving up. @default Infinity */
  readonly reconnectionAttempts?: number;
  /** Connect timeout, in ms. @default 5000 */
  readonly timeoutMs?: number;
  /** How long `emitWithAck` waits for the ack, in ms. @default 5000 */
  readonly ackTimeoutMs?: number;
  /**
   * `'polling'` talks HTTP long-polling only (several events may travel in one request), as a
   * client behind a proxy without WebSockets does. @default 'websocket'
   */
  readonly transport?: 'websocket' | 'polling';
}

/** Options of `TestClient.expectNoEvent`. */
export interface ExpectNoEventOptions<Args extends unknown[]> {
  /** How long nothing may arrive, in ms. @default 500 */
  readonly within?: number;
  /** Only an event whose arguments satisfy this is forbidden. @default every event of that name */
  readonly predicate?: (...args: Args) => boolean;
}

/** Options of `TestClient.reconnect`. */
export interface ReconnectOptions {
  /** Another server to connect to, e.g. a second gateway node. @default the current URL */
  readonly url?: string;
  /** @default the current token */
  readonly token?: string;
}

/** Options of `TestClient.checkDelivery` and `expectReceivedOnce`. */
export interface DeliveryCheckOptions {
  /** How long to wait for every expected seq before comparing. @default 5000 */
  readonly timeout?: number;
}

/** Options of `TestClient.emitWithAck`. */
export interface EmitWithAckOptions {
  /** How long to wait for the ack, in ms. @default the client's `ackTimeoutMs` (5000) */
  readonly timeout?: number;
}
