import type { WakeSignal } from '@ccs/realtime';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';

/** Options of {@link RedisWakeSignal}. */
export interface RedisWakeSignalOptions {
  /** Publishes; a client without an offline queue, so a signal is dropped while Redis is down. */
  readonly publisher: Redis;
  /** Subscribes; a connection of its own (subscriber mode). */
  readonly subscriber: Redis;
  /** The pub/sub channel, under the service's Redis prefix. */
  readonly channel: string;
  readonly logger: Logger;
}

/**
 * Wakes every node's relay through Redis pub/sub when a write commits through any node. The
 * writes of one event-loop turn share one publish. A lost signal (Redis down, a node
 * reconnecting) costs only latency: every relay reads change_log on its own tick regardless.
 */
export class RedisWakeSignal implements WakeSignal {
  private publishQueued = false;
  private readonly listeners = new Set<() => void>();

  constructor(private readonly options: RedisWakeSignalOptions) {
    options.subscriber.on('message', (channel: string) => {
      if (channel !== options.channel) return;
      for (const listener of this.listeners) listener();
    });
  }

  /**
   * Subscribes to the channel, in the background: with Redis down the subscription waits for
   * it (and ioredis renews it after every reconnect), while relays keep reading on their ticks.
   */
  start(): void {
    this.options.subscriber.subscribe(this.options.channel).catch((error: unknown) => {
      this.options.logger.warn({ err: error }, 'relay wake-ups from other nodes are off for now');
    });
  }

  notify(): void {
    if (this.publishQueued) return;
    this.publishQueued = true;
    setImmediate(() => {
      this.publishQueued = false;
      this.options.publisher.publish(this.options.channel, '').catch((error: unknown) => {
        this.options.logger.debug({ err: error }, 'relay wake-up not published');
      });
    });
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
