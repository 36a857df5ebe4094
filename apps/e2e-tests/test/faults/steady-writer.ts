import { AckError, type TestClient } from '@ccs/test-clients';

/** Sends numbered messages one after another, as a device does, and keeps count. */
export interface SteadyWriter {
  /** Seqs of the acknowledged messages, in sending order. */
  readonly sent: number[];
  /** Sends refused (and sent again) so far. */
  readonly refused: () => number;
  /** Sends message `i`; a refused send is sent again with the same client id until acked. */
  send(i: number): Promise<number>;
}

/** Options of {@link steadyWriter}. */
export interface SteadyWriterOptions {
  /** How long a message may be refused before the send fails. @default 30000 */
  readonly retryForMs?: number;
  /**
   * Brings the writer back when its connection is lost (its gateway died); the message is then
   * sent again with the same client id. Without it, a lost connection fails the send.
   */
  readonly onLost?: () => Promise<void>;
}

/**
 * A writer for fault tests: about 15 messages a second (under the default per-device send
 * rate), each retried every 200 ms with its client id while the server refuses it (the database
 * is down), so a send is written once however many times it is tried.
 */
export function steadyWriter(
  writer: TestClient,
  conversationId: string,
  options: SteadyWriterOptions = {},
): SteadyWriter {
  const { retryForMs = 30_000, onLost } = options;
  const sent: number[] = [];
  let refused = 0;
  return {
    sent,
    refused: () => refused,
    async send(i) {
      const deadline = Date.now() + retryForMs;
      for (;;) {
        if (onLost && writer.state !== 'connected') await onLost();
        const ack = await writer
          .emitWithAck('message:send', { conversationId, clientId: `m-${i}`, body: `message ${i}` })
          .catch((error: unknown) => {
            if (onLost && error instanceof AckError) return undefined;
            throw error;
          });
        if (ack?.ok) {
          sent.push(ack.seq);
          await new Promise((resolve) => setTimeout(resolve, 60));
          return ack.seq;
        }
        if (Date.now() > deadline) {
          throw new Error(
            `send ${i}: ${ack ? `${ack.error.code} ${ack.error.message}` : 'no ack'}`,
          );
        }
        // No ack (the connection was lost with the send under way): sent again once back.
        if (ack === undefined) continue;
        refused++;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    },
  };
}
