import { CLIENT_EVENTS, type Ack, type ClientEventName, type ErrorCode } from '@ccs/protocol';
import type { Logger } from 'pino';
import type { Socket } from 'socket.io';
import type { GatewaySocket } from './gateway-socket.js';
import type { z } from 'zod';
import { parsePayload } from './payload-validation.js';
import { rateLimited } from './send-limits.js';
import { RealtimeError } from './realtime-error.js';

/**
 * How one client event is validated and served, for every socket (the socket is an argument:
 * nothing is built per socket); the result is spread into `{ ok: true }`.
 */
export interface EventHandler<S = GatewaySocket> {
  readonly schema: z.ZodType;
  /**
   * Cheap checks before the payload is even parsed (rate limits): throws the error to answer
   * with, or returns what `run` must call once done (e.g. to free an in-flight slot).
   */
  readonly admit?: (socket: S) => () => void;
  readonly run: (payload: unknown, socket: S) => Promise<object>;
  /** The event may come without an ack (then nothing is answered, refusals included). */
  readonly unanswered?: boolean;
}

/** An {@link EventHandler} whose `run` gets the payload as `schema` parsed it. */
export function eventHandler<Schema extends z.ZodType, S = GatewaySocket>(
  schema: Schema,
  run: (payload: z.infer<Schema>, socket: S) => Promise<object>,
  admit?: (socket: S) => () => void,
): EventHandler<S> {
  return {
    schema,
    run: run as (payload: unknown, socket: S) => Promise<object>,
    ...(admit && { admit }),
  };
}

/** A handler for each event of the protocol. */
export type EventHandlers<S = GatewaySocket> = { readonly [E in ClientEventName]: EventHandler<S> };

/** Options of {@link serveClientEvents}: the same for every socket. */
export interface InboundOptions<S> {
  /**
   * Events handled per socket in one turn of the event loop (one long-polling request is always
   * one turn; so are the WebSocket frames read together); the rest are refused with
   * `rate_limited`.
   */
  readonly eventsPerBatch: number;
  readonly logger: Logger;
  /**
   * Told of every event refused before its handler ran (unknown, malformed, over a limit) and
   * of every ack the client sent: `('(ack)', 'unexpected_ack')`.
   */
  readonly onRejected?: (event: string, code: ErrorCode | 'unexpected_ack') => void;
  /** Turns a handler's failure into what the client is told. */
  readonly toWireError: (error: unknown) => RealtimeError;
  /**
   * `rate_limited` answers one socket may get in a second; past that it ignores `retryAfterMs`
   * and `onFlood` is called, once.
   */
  readonly refusalsPerSecond: number;
  readonly onFlood: (socket: S) => void;
}

const KNOWN_EVENTS: ReadonlySet<string> = new Set(CLIENT_EVENTS);

/** What a refused event of one burst is told to wait: the next read is served again. */
const BATCH_RETRY_AFTER_MS = 50;

/**
 * Serves every event a client sends, through one listener: each gets an answer through its ack
 * (`{ ok: true, … }` or `{ ok: false, error: { code, message } }`), whatever it is. An unknown
 * event gets `unknown_event`; a payload that fails its schema gets `invalid_payload`; events past
 * `eventsPerBatch` in one turn get `rate_limited`, and a socket that keeps sending past more
 * than `refusalsPerSecond` of those is flooding (`onFlood`). An event without an ack cannot be answered:
 * it is counted and dropped, and so is an ack the client sends (the server never asks for one).
 */
export function serveClientEvents<S extends Socket>(
  socket: S,
  handlers: EventHandlers<S>,
  options: InboundOptions<S>,
): void {
  const state = new RefusalCount();
  // The gateway never emits with an ack, so every ACK packet (socket.io types 3 and 6) a client
  // sends is out of place; socket.io drops it silently, this counts it.
  if (options.onRejected) socket.conn.on('packet', unexpectedAckCounter(options.onRejected));
  socket.onAny((event: string, ...args: unknown[]) => {
    // socket.io hands the events of one read to `onAny` listeners synchronously: the count
    // starts again once the event loop has finished this turn's reads.
    if (state.inBatch++ === 0) setImmediate(endBatch, state);
    const label = KNOWN_EVENTS.has(event) ? event : '(unknown)';
    let ack = args[args.length - 1];
    if (typeof ack !== 'function') {
      if (KNOWN_EVENTS.has(event) && handlers[event as ClientEventName].unanswered) {
        // Served as if its ack ignored the answer.
        ack = ignoreAnswer;
        args.push(ack);
      } else {
        // Without an ack there is no way to answer (socket.io sends a function only as the last
        // argument): count it, drop it.
        options.onRejected?.(label, 'invalid_payload');
        options.logger.debug({ event: label }, 'client event without an ack dropped');
        return;
      }
    }
    if (state.inBatch > options.eventsPerBatch) {
      rejectWith(
        socket,
        state,
        options,
        label,
        ack,
        rateLimited(
          `more than ${options.eventsPerBatch} events in one request; send them in smaller batches`,
          BATCH_RETRY_AFTER_MS,
        ),
      );
      return;
    }
    if (!KNOWN_EVENTS.has(event)) {
      rejectWith(
        socket,
        state,
        options,
        label,
        ack,
        new RealtimeError(
          'unknown_event',
          `unknown event ${JSON.stringify(event.slice(0, 64))}; this server handles ${CLIENT_EVENTS.join(', ')}`,
        ),
      );
      return;
    }
    if (args.length !== 2) {
      rejectWith(
        socket,
        state,
        options,
        label,
        ack,
        new RealtimeError('invalid_payload', `${event}: expected one payload and an ack`),
      );
      return;
    }
    const handler = handlers[event as ClientEventName];
    let done = nothingToUndo;
    try {
      if (handler.admit) done = handler.admit(socket);
    } catch (error) {
      rejectWith(socket, state, options, label, ack, options.toWireError(error));
      return;
    }
    let payload: unknown;
    try {
      payload = parsePayload(event, handler.schema, args[0]);
    } catch (error) {
      done();
      rejectWith(socket, state, options, label, ack, options.toWireError(error));
      return;
    }
    const reply = ack as (response: Ack) => void;
    handler
      .run(payload, socket)
      .finally(done)
      .then(
        (result) => reply({ ok: true, ...result }),
        (error: unknown) => {
          const wire = options.toWireError(error);
          if (wire.code === 'rate_limited') {
            options.onRejected?.(label, wire.code);
            state.refused(socket, options);
          }
          reply({ ok: false, error: wire.toWire() });
        },
      );
  });
}

/** Answers an event refused before its handler ran, and counts it. */
function rejectWith<S>(
  socket: S,
  state: RefusalCount,
  options: InboundOptions<S>,
  label: string,
  ack: unknown,
  error: RealtimeError,
): void {
  options.onRejected?.(label, error.code);
  if (error.code === 'rate_limited') state.refused(socket, options);
  if (typeof ack === 'function')
    (ack as (response: Ack) => void)({ ok: false, error: error.toWire() });
}

function nothingToUndo(): void {}

function ignoreAnswer(): void {}

/** One socket's events of this turn, and its `rate_limited` answers of this second. */
class RefusalCount {
  inBatch = 0;
  private refusals = 0;
  private since = 0;
  private flooding = false;

  /** Counts a `rate_limited` answer; a socket over `refusalsPerSecond` is flooding. */
  refused<S>(socket: S, options: InboundOptions<S>): void {
    const now = Date.now();
    if (now - this.since >= 1000) {
      this.since = now;
      this.refusals = 0;
    }
    if (++this.refusals > options.refusalsPerSecond && !this.flooding) {
      this.flooding = true;
      options.onFlood(socket);
    }
  }
}

function endBatch(state: RefusalCount): void {
  state.inBatch = 0;
}

/** One listener per `onRejected` (so per gateway), shared by every socket's connection. */
const ackCounters = new WeakMap<
  NonNullable<InboundOptions<unknown>['onRejected']>,
  (packet: { type: string; data?: unknown }) => void
>();

function unexpectedAckCounter(
  onRejected: NonNullable<InboundOptions<unknown>['onRejected']>,
): (packet: { type: string; data?: unknown }) => void {
  let counter = ackCounters.get(onRejected);
  if (!counter) {
    counter = (packet) => {
      if (packet.type !== 'message' || typeof packet.data !== 'string') return;
      const type = packet.data.charAt(0);
      if (type === '3' || type === '6') onRejected('(ack)', 'unexpected_ack');
    };
    ackCounters.set(onRejected, counter);
  }
  return counter;
}
