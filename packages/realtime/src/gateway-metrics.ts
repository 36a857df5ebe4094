import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** The gateway's Prometheus metrics, registered on the registry given. */
export interface GatewayMetrics {
  readonly connectedSockets: Gauge;
  readonly changesDelivered: Counter;
  readonly commitToEmitSeconds: Histogram;
  readonly relayReadSeconds: Histogram;
  readonly clientEventsRejected: Counter<'event' | 'code'>;
  readonly handshakesRefused: Counter<'code'>;
  readonly sessionsEnded: Counter<'reason'>;
  readonly subscriptionsRevoked: Counter;
}

/** Registers the gateway's metrics on `registry`. */
export function createGatewayMetrics(registry: Registry): GatewayMetrics {
  return {
    connectedSockets: new Gauge({
      name: 'ccs_connected_sockets',
      help: 'Sockets connected to this gateway',
      registers: [registry],
    }),
    changesDelivered: new Counter({
      name: 'ccs_changes_delivered_total',
      help: 'Change events emitted to sockets (one per change per receiving socket)',
      registers: [registry],
    }),
    commitToEmitSeconds: new Histogram({
      name: 'ccs_commit_to_emit_seconds',
      help: 'Time from the commit of a change in PostgreSQL to its emit by this gateway',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    relayReadSeconds: new Histogram({
      name: 'ccs_relay_read_seconds',
      help: 'Duration of each read of committed changes by this gateway (its count is the reads)',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [registry],
    }),
    clientEventsRejected: new Counter({
      name: 'ccs_client_events_rejected_total',
      help: 'Client events refused before their handler ran or by a limit (unknown event, bad payload, rate limit), and acks the server never asked for (event="(ack)")',
      labelNames: ['event', 'code'],
      registers: [registry],
    }),
    handshakesRefused: new Counter({
      name: 'ccs_handshakes_refused_total',
      help: 'Socket handshakes refused, by error code (unauthorized, rate_limited for socket limits)',
      labelNames: ['code'],
      registers: [registry],
    }),
    sessionsEnded: new Counter({
      name: 'ccs_sessions_ended_total',
      help: 'Sockets the server disconnected, by reason (device_revoked, token_expired, slow_consumer, …)',
      labelNames: ['reason'],
      registers: [registry],
    }),
    subscriptionsRevoked: new Counter({
      name: 'ccs_subscriptions_revoked_total',
      help: 'Subscriptions ended because a committed change took the access away',
      registers: [registry],
    }),
  };
}
