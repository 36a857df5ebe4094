export { TestClient } from './test-client.js';
export type {
  DeliveryCheckOptions,
  EmitWithAckOptions,
  ExpectNoEventOptions,
  ReconnectOptions,
  TestClientOptions,
} from './test-client-options.js';
export type { DisconnectReason, TestClientSocket } from './socket-connection.js';
export type {
  ClientEventAck,
  ClientEventName,
  ClientEventPayload,
  ServerEventArgs,
  ServerEventName,
  TestClientServerEvents,
  WaitForOptions,
} from './event-types.js';
export type { ConnectionState, StateTransition } from './connection-state.js';
export type { WaitForStateOptions } from './connection-state-machine.js';
export type { EventDirection, RecordedEvent } from './recorded-event.js';
export type { HistoryQuery } from './event-history.js';
export type { ReceivedChange } from './received-changes.js';
export { LatencyStats, type LatencySummary } from './latency-stats.js';
export {
  LatencyHistogram,
  type LatencyBin,
  type LatencyBucket,
  type LatencyPercentiles,
} from './latency-histogram.js';
export type { DeliveryProblems, ExpectedSeqs } from './delivery-problems.js';
export { Fleet, type FleetMemberOptions, type FleetOptions } from './fleet.js';
export { Barrier, type BarrierOptions } from './barrier.js';
export { testClientMatchers, type MatcherOutcome, type TestClientMatchers } from './matchers.js';
export { TestClientError, type TestClientErrorCode } from './test-client-error.js';
export { WaitForTimeoutError, type WaitForTimeoutContext } from './wait-for-timeout-error.js';
export { StateTimeoutError } from './state-timeout-error.js';
export { UnexpectedEventError } from './unexpected-event-error.js';
export { AckError, type AckFailure } from './ack-error.js';
export { AckRefusedError } from './ack-refused-error.js';
export { ClientClosedError } from './client-closed-error.js';
export { DeliveryAssertionError, type DeliveryFailure } from './delivery-assertion-error.js';
export { FleetConnectError, type MemberFailure } from './fleet-connect-error.js';
export { FleetWaitTimeoutError } from './fleet-wait-timeout-error.js';
export { BarrierTimeoutError } from './barrier-timeout-error.js';
export { StallingClient, type StallingClientEvent } from './stalling-client.js';
export { nthPresence, presenceMembers, presenceOf } from './presence-events.js';
export { restCall, type RestAnswer, type RestCallOptions } from './rest-call.js';
