import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** What the gateway's gauges read at each scrape. */
export interface GatewayGaugeSources {
  /** Subscriptions of this node's sockets (live or replaying). */
  subscriptions(): number;
  /** Streams the relay follows for this node's subscribers. */
  trackedStreams(): number;
}

/** Why a subscribe with `since` was answered as it was. */
export type ResumeOutcome =
  { readonly outcome: 'replayed' } | { readonly outcome: 'resync'; readonly reason: string };

/** The gateway's Prometheus metrics, registered on the registry given. */
export interface GatewayMetrics {
  readonly connectedSockets: Gauge;
  readonly changesDelivered: Counter;
  readonly commitToEmitSeconds: Histogram;
  /** Commit of a change to the device saying it holds it (`changes:received`). */
  readonly commitToDeviceAckSeconds: Histogram;
  readonly relayReadSeconds: Histogram;
  /** At the relay's last read: changes it found waiting, and how long the oldest had waited. */
  readonly relayTailLagChanges: Gauge;
  readonly relayTailLagSeconds: Gauge;
  readonly resumes: Counter<'outcome' | 'reason'>;
  readonly eventsDropped: Counter<'reason'>;
  /** Everything refused with `rate_limited`, by where: `socket` events, `handshake`s, `rest` requests. */
  readonly rateLimited: Counter<'scope'>;
  readonly clientEventsRejected: Counter<'event' | 'code'>;
  readonly handshakesRefused: Counter<'code'>;
  readonly sessionsEnded: Counter<'reason'>;
  readonly subscriptionsRevoked: Counter;
  /** Counts one subscribe's resume outcome. */
  countResume(outcome: ResumeOutcome): void;
  /** Where the subscription and tracked-stream gauges read from (the gateway calls it once). */
  watch(sources: GatewayGaugeSources): void;
}

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** Registers the gateway's metrics on `registry`. */
export function createGatewayMetrics(registry: Registry): GatewayMetrics {
  let sources: GatewayGaugeSources | undefined;
  new Gauge({
    name: 'ccs_subscriptions',
    help: 'Stream subscriptions of the sockets connected to this gateway',
    registers: [registry],
    collect() {
      this.set(sources?.subscriptions() ?? 0);
    },
  });
  new Gauge({
    name: 'ccs_relay_tracked_streams',
    help: 'Streams this gateway relays changes of (at least one local subscriber)',
    registers: [registry],
    collect() {
      this.set(sources?.trackedStreams() ?? 0);
    },
  });
  const resumes = new Counter({
    name: 'ccs_resumes_total',
    help: 'Subscribes with since: replayed from the log, or told to resync (reason: since_before_retention, since_ahead_of_head)',
    labelNames: ['outcome', 'reason'],
    registers: [registry],
  });
  return {
    resumes,
    countResume: (resume) =>
      resumes.inc({
        outcome: resume.outcome,
        reason: resume.outcome === 'resync' ? resume.reason : 'none',
      }),
    watch: (watched) => {
      sources = watched;
    },
    commitToDeviceAckSeconds: new Histogram({
      name: 'ccs_commit_to_device_ack_seconds',
      help: 'Time from the commit of a change to a device saying it holds it (changes:received)',
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    relayTailLagChanges: new Gauge({
      name: 'ccs_relay_tail_lag_changes',
      help: 'Committed changes the relay found waiting at its last read of the change log',
      registers: [registry],
    }),
    relayTailLagSeconds: new Gauge({
      name: 'ccs_relay_tail_lag_seconds',
      help: "How long the oldest change found at the relay's last read had been committed (0 when none)",
      registers: [registry],
    }),
    rateLimited: new Counter({
      name: 'ccs_rate_limited_total',
      help: 'Requests refused with rate_limited, by scope: socket (client events), handshake (connects), rest (HTTP 429)',
      labelNames: ['scope'],
      registers: [registry],
    }),
    eventsDropped: new Counter({
      name: 'ccs_events_dropped_total',
      help: 'Ephemeral events accepted but not passed on, by reason (typing_throttled: the same typing state again within the throttle); refused events are ccs_client_events_rejected_total',
      labelNames: ['reason'],
      registers: [registry],
    }),
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
      buckets: LATENCY_BUCKETS,
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
