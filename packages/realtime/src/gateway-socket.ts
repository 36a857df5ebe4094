import type {
  ClientToServerEvents,
  ServerToClientEvents,
  StreamName,
  VerifiedDeviceToken,
} from '@ccs/protocol';
import type { Server, Socket } from 'socket.io';
import type { RelaySubscription } from './stream-relay.js';

/** What the gateway keeps on each socket (`socket.data`). */
export interface GatewaySocketData extends VerifiedDeviceToken {
  /** This socket's hold on each stream it subscribed to (or is subscribing to). */
  subscriptions: Map<StreamName, RelaySubscription>;
}

/** The socket.io server the gateway serves on, typed by `@ccs/protocol`'s event maps. */
export type GatewayServer = Server<
  ClientToServerEvents,
  ServerToClientEvents,
  Record<string, never>,
  GatewaySocketData
>;

/** One device's socket on a {@link GatewayServer}. */
export type GatewaySocket = Socket<
  ClientToServerEvents,
  ServerToClientEvents,
  Record<string, never>,
  GatewaySocketData
>;
