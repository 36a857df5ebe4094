import type { Actor, Database } from '@ccs/db';
import type { WriteEventName, WritePayloads } from '@ccs/protocol';
import type { ChangeTracing, WriteTransport } from './change-tracing.js';
import { parsePayload } from './payload-validation.js';
import { rateLimited, type SendQueue, type TokenBuckets } from './send-limits.js';
import { WRITE_OPERATIONS } from './write-operations.js';

/** What a socket or device over its in-flight cap of writes is told to wait. */
export const IN_FLIGHT_RETRY_AFTER_MS = 20;

/** What {@link WriteGate} needs. */
export interface WriteGateDeps {
  readonly db: Database;
  /** The node's bound on writes running and waiting. */
  readonly queue: SendQueue;
  /** Writes per device. */
  readonly rates: TokenBuckets;
  readonly writesPerSecond: number;
  /** Writes of one device over REST awaiting their answer (a socket has its own cap). */
  readonly inFlightPerDevice: number;
  /** Called after every write that committed (wakes the relays, here and on other nodes). */
  readonly committed: () => void;
  /** Each write in a `ccs.write` span, when tracing. */
  readonly tracing?: ChangeTracing;
}

/**
 * The one way in for writes, from a socket or from REST: each device's rate, then the node's
 * write queue, then the operation. A device cannot get around its limits by switching from
 * socket.io to HTTP or back: both spend the same tokens and the same queue.
 */
export class WriteGate {
  /** REST writes of each device under way. */
  private readonly inFlight = new Map<string, number>();

  constructor(private readonly deps: WriteGateDeps) {}

  /** Spends one of the device's write tokens, or throws `rate_limited` with how long to wait. */
  admit(deviceId: string): void {
    const waitMs = this.deps.rates.take(deviceId);
    if (waitMs > 0) {
      throw rateLimited(
        `this device writes over ${this.deps.writesPerSecond} times per second`,
        waitMs,
      );
    }
  }

  /** Runs a write whose payload was parsed by its schema (the device was admitted). */
  async run<E extends WriteEventName>(
    event: E,
    actor: Actor,
    payload: WritePayloads[E][0],
    transport: WriteTransport = 'socket',
  ): Promise<WritePayloads[E][1]> {
    const operation = WRITE_OPERATIONS[event];
    const write = async (): Promise<WritePayloads[E][1]> => {
      const result = await this.deps.queue.run(() => operation.run(this.deps.db, actor, payload));
      this.deps.committed();
      return result;
    };
    return this.deps.tracing
      ? this.deps.tracing.write(event, transport, actor.deviceId, write)
      : write();
  }

  /**
   * Runs a write that is not an operation of the protocol (a content upload) under the same
   * rate and queue.
   */
  async throttled<T>(deviceId: string, work: () => Promise<T>): Promise<T> {
    return this.held(deviceId, () => {
      this.admit(deviceId);
      return this.deps.queue.run(work);
    });
  }

  /** Admits, parses and runs a write as it came (REST): errors are thrown as on a socket. */
  async perform<E extends WriteEventName>(
    event: E,
    actor: Actor,
    payload: unknown,
  ): Promise<WritePayloads[E][1]> {
    return this.held(actor.deviceId, () => {
      this.admit(actor.deviceId);
      return this.run(
        event,
        actor,
        parsePayload(event, WRITE_OPERATIONS[event].schema, payload),
        'rest',
      );
    });
  }

  /**
   * Runs a device's REST write within its in-flight cap (as a socket's writes are): past it,
   * `rate_limited` at once.
   */
  private async held<T>(deviceId: string, work: () => Promise<T>): Promise<T> {
    const count = this.inFlight.get(deviceId) ?? 0;
    if (count >= this.deps.inFlightPerDevice) {
      throw rateLimited(
        `${this.deps.inFlightPerDevice} writes of this device await their answer; wait for one`,
        IN_FLIGHT_RETRY_AFTER_MS,
      );
    }
    this.inFlight.set(deviceId, count + 1);
    try {
      return await work();
    } finally {
      const left = (this.inFlight.get(deviceId) ?? 1) - 1;
      if (left === 0) this.inFlight.delete(deviceId);
      else this.inFlight.set(deviceId, left);
    }
  }
}
