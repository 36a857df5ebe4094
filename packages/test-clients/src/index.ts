export { TestClient, type TestClientOptions, type WaitForOptions } from './test-client.js';
export { WaitForTimeoutError } from './wait-for-timeout-error.js';
export type { RecordedEvent } from './recorded-event.js';
