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
  /**
   * The highest seq the device said it holds (`changes:received`) of streams it subscribes to: a
   * plain object, so that other nodes see it through `fetchSockets()`.
   */
  received: Partial<Record<StreamName, number>>;
  /**
   * When the device last reported (`changes:received`, ms since the epoch): its positions in
   * `received` are as of then (devices report at most every `receivedReportMs`).
   */
  reportedAt?: number;
}

/** Forgets what the device told of `stream` (`changes:received`): it left the stream. */
export function forgetReceived(data: GatewaySocketData, stream: StreamName): void {
  if (data.received[stream] === undefined) return;
  data.received = Object.fromEntries(
    Object.entries(data.received).filter(([name]) => name !== stream),
  );
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
