import type { ChangeEvent, StreamName } from '@ccs/protocol';
import { TestClient } from '@ccs/test-clients';

/**
 * A device that follows some streams and, when told to reconnect, drops its socket and resumes
 * on a new one with `since` = the last seq it got, as the SDK will. Keeps every change it was
 * given across all its sockets, in arrival order.
 */
export class ResumingSubscriber {
  readonly received = new Map<StreamName, ChangeEvent[]>();
  private readonly baseline = new Map<StreamName, number>();
  private client: TestClient | undefined;

  constructor(
    private readonly url: () => string,
    private readonly token: string,
    private readonly streams: readonly StreamName[],
  ) {
    for (const stream of streams) this.received.set(stream, []);
  }

  /** The newest seq this device has of `stream` (its head at first subscribe if none yet). */
  lastSeq(stream: StreamName): number {
    const changes = this.received.get(stream) ?? [];
    return changes[changes.length - 1]?.seq ?? this.baseline.get(stream) ?? 0;
  }

  /** Seq of the first change this device expects: one past its first subscribe's head. */
  firstExpected(stream: StreamName): number {
    return (this.baseline.get(stream) ?? 0) + 1;
  }

  async connect(): Promise<void> {
    const client = new TestClient({ url: this.url(), token: this.token });
    client.socket.on('changes', (frame) => {
      if (this.client !== client) return;
      for (const change of frame) this.received.get(change.stream)?.push(change);
    });
    this.client = client;
    await client.open();
    for (const stream of this.streams) {
      const resume = this.baseline.has(stream) ? { since: this.lastSeq(stream) } : {};
      const ack = await client.emitWithAck('subscribe', { stream, ...resume });
      if (!ack.ok) throw new Error(`subscribe ${stream} failed: ${ack.error.message}`);
      if (!this.baseline.has(stream)) this.baseline.set(stream, ack.head);
    }
  }

  async reconnect(): Promise<void> {
    this.close();
    await this.connect();
  }

  close(): void {
    const client = this.client;
    this.client = undefined;
    client?.close();
  }
}
