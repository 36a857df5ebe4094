import type { TestClient } from '@ccs/test-clients';

/** Sends numbered messages one after another, as a device does, and keeps count. */
export interface SteadyWriter {
  /** Seqs of the acknowledged messages, in sending order. */
  readonly sent: number[];
  /** Sends refused (and sent again) so far. */
  readonly refused: () => number;
  /** Sends message `i`; a refused send is sent again with the same client id until acked. */
  send(i: number): Promise<number>;
}

/**
 * A writer for fault tests: about 15 messages a second (under the default per-device send
 * rate), each retried every 200 ms with its client id while the server refuses it (the database
 * is down), so a send is written once however many times it is tried.
 */
export function steadyWriter(
  writer: TestClient,
  conversationId: string,
  retryForMs = 30_000,
): SteadyWriter {
  const sent: number[] = [];
  let refused = 0;
  return {
    sent,
    refused: () => refused,
    async send(i) {
      const deadline = Date.now() + retryForMs;
      for (;;) {
        const ack = await writer.emitWithAck('message:send', {
          conversationId,
          clientId: `m-${i}`,
          body: `message ${i}`,
        });
        if (ack.ok) {
          sent.push(ack.seq);
          await new Promise((resolve) => setTimeout(resolve, 60));
          return ack.seq;
        }
        refused++;
        if (Date.now() > deadline) {
          throw new Error(`send ${i}: ${ack.error.code} ${ack.error.message}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    },
  };
}
