import {
  readFileContent,
  readHistory,
  readSnapshot,
  storeFileContent,
  type Actor,
  type Database,
} from '@ccs/db';
import {
  MAX_FRAME_BYTES,
  contentHashSchema,
  historyQuerySchema,
  idSchema,
  snapshotQuerySchema,
  streamNameSchema,
  type WriteEventName,
} from '@ccs/protocol';
import { parsePayload, RealtimeError, toWireError, type Gateway } from '@ccs/realtime';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { z } from 'zod';
import { authenticateRequest, type RestAuthDeps } from './rest-auth.js';
import { sendWireError } from './rest-errors.js';

/** A write's REST route: its method and URL under `/v1`, and the socket event it runs. */
interface WriteRoute {
  readonly method: 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  readonly url: string;
  readonly event: WriteEventName;
}

/**
 * Every write of the protocol as REST. The payload is the JSON body with the path's parameters
 * added; it goes through the gateway's {@link Gateway.writes}, so it is checked by the same
 * schema, limited by the same per-device rate and queue, and answered with the same result or
 * `{ code, message }` as the socket event.
 */
export const WRITE_ROUTES: readonly WriteRoute[] = [
  { method: 'POST', url: '/conversations', event: 'conversation:create' },
  { method: 'PATCH', url: '/conversations/:conversationId', event: 'conversation:update' },
  {
    method: 'POST',
    url: '/conversations/:conversationId/members',
    event: 'conversation:add_member',
  },
  {
    method: 'DELETE',
    url: '/conversations/:conversationId/members/:userId',
    event: 'conversation:remove_member',
  },
  { method: 'POST', url: '/conversations/:conversationId/messages', event: 'message:send' },
  { method: 'PATCH', url: '/messages/:messageId', event: 'message:edit' },
  { method: 'DELETE', url: '/messages/:messageId', event: 'message:delete' },
  { method: 'PUT', url: '/conversations/:conversationId/receipt', event: 'receipt:read' },
  { method: 'POST', url: '/workspaces', event: 'workspace:create' },
  { method: 'POST', url: '/workspaces/:workspaceId/members', event: 'workspace:add_member' },
  {
    method: 'DELETE',
    url: '/workspaces/:workspaceId/members/:userId',
    event: 'workspace:remove_member',
  },
  { method: 'POST', url: '/workspaces/:workspaceId/files', event: 'file:push' },
];

/** What {@link registerRestRoutes} needs. */
export interface RestDeps extends RestAuthDeps {
  readonly gateway: Gateway;
  /** Snapshots, history and contents are read here. */
  readonly db: Database;
  /** Largest file content accepted, in bytes. */
  readonly maxFileBytes: number;
  readonly logger: Logger;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The device a `/v1` request was authenticated as. */
    actor: Actor;
  }
}

/**
 * The REST API under `/v1`: every write of the protocol ({@link WRITE_ROUTES}), snapshots
 * (`GET /v1/streams/:stream/snapshot`), history (`GET /v1/conversations/:id/messages`) and file
 * contents (`PUT`/`GET /v1/workspaces/:id/contents/:hash`). Every request authenticates with
 * its device token as `Authorization: Bearer <token>`; errors are `{ code, message }` as on the
 * socket.
 */
export async function registerRestRoutes(app: FastifyInstance, deps: RestDeps): Promise<void> {
  await app.register(
    async (v1) => {
      v1.decorateRequest('actor');
      v1.addHook('onRequest', async (request) => {
        // No route, nothing to authorise: 404 whether or not a token came (as outside /v1).
        if (request.is404) return;
        request.actor = await authenticateRequest(request, deps);
      });
      v1.setErrorHandler((error, request, reply) => {
        if ((error as { statusCode?: unknown }).statusCode === 413) {
          const limit = request.routeOptions.bodyLimit ?? MAX_FRAME_BYTES;
          return sendWireError(
            reply,
            { code: 'invalid_payload', message: `the body is larger than ${limit} bytes` },
            413,
          );
        }
        return sendWireError(reply, restError(error, deps.logger).toWire());
      });
      v1.setNotFoundHandler((request, reply) =>
        sendWireError(reply, {
          code: 'not_found',
          message: `no route ${request.method} ${request.url}`,
        }),
      );
      v1.addContentTypeParser(
        'application/octet-stream',
        { parseAs: 'buffer', bodyLimit: deps.maxFileBytes },
        (_request, body, done) => done(null, body),
      );

      for (const route of WRITE_ROUTES) {
        v1.route({
          method: route.method,
          url: route.url,
          bodyLimit: MAX_FRAME_BYTES,
          handler: async (request) =>
            deps.gateway.writes.perform(route.event, request.actor, writePayload(request)),
        });
      }

      v1.get('/streams/:stream/snapshot', async (request) => {
        const { stream } = parsePayload(
          'snapshot',
          z.object({ stream: streamNameSchema }),
          request.params,
        );
        const query = parsePayload('snapshot', snapshotQuerySchema, request.query);
        return readSnapshot(deps.db, request.actor, stream, query);
      });

      v1.get('/conversations/:conversationId/messages', async (request) => {
        const { conversationId } = parsePayload(
          'history',
          z.object({ conversationId: idSchema }),
          request.params,
        );
        const query = parsePayload('history', historyQuerySchema, request.query);
        return readHistory(deps.db, request.actor, conversationId, {
          limit: query.limit,
          ...(query.before !== undefined && { before: query.before }),
        });
      });

      const contentParams = z.object({ workspaceId: idSchema, hash: contentHashSchema });
      // The route's own limit, so a refusal names the limit that refused it.
      v1.put(
        '/workspaces/:workspaceId/contents/:hash',
        { bodyLimit: deps.maxFileBytes },
        async (request) => {
          const { workspaceId, hash } = parsePayload('contents', contentParams, request.params);
          if (!Buffer.isBuffer(request.body)) {
            throw new RealtimeError(
              'invalid_payload',
              'send the content as the body, with Content-Type: application/octet-stream',
            );
          }
          const content = request.body;
          return deps.gateway.writes.throttled(request.actor.deviceId, () =>
            storeFileContent(deps.db, request.actor, workspaceId, hash, content),
          );
        },
      );

      v1.get('/workspaces/:workspaceId/contents/:hash', async (request, reply) => {
        const { workspaceId, hash } = parsePayload('contents', contentParams, request.params);
        const content = await readFileContent(deps.db, request.actor, workspaceId, hash);
        return reply
          .type('application/octet-stream')
          .header('etag', `"${hash}"`)
          .header('cache-control', 'private, max-age=31536000, immutable')
          .send(content);
      });
    },
    { prefix: '/v1' },
  );
}

/**
 * A write's payload: the JSON body (an object, or nothing) with the path's parameters added. A
 * parameter also given in the body with another value is refused, not silently replaced.
 */
function writePayload(request: FastifyRequest): Record<string, unknown> {
  const body = request.body ?? {};
  if (typeof body !== 'object' || Array.isArray(body) || Buffer.isBuffer(body)) {
    throw new RealtimeError('invalid_payload', 'the body must be a JSON object');
  }
  const params = request.params as Record<string, string>;
  const payload: Record<string, unknown> = { ...(body as Record<string, unknown>) };
  for (const [name, value] of Object.entries(params)) {
    if (name in payload && payload[name] !== value) {
      throw new RealtimeError(
        'invalid_payload',
        `${name}: the path says ${value}, the body ${JSON.stringify(payload[name])}; leave it out of the body`,
      );
    }
    payload[name] = value;
  }
  return payload;
}

/** What a failed `/v1` request answers: fastify's own refusals (bad JSON…) as `invalid_payload`. */
function restError(error: unknown, logger: Logger): RealtimeError {
  const status = (error as { statusCode?: unknown }).statusCode;
  if (
    !(error instanceof RealtimeError) &&
    typeof status === 'number' &&
    status >= 400 &&
    status < 500
  ) {
    return new RealtimeError('invalid_payload', (error as Error).message, { cause: error });
  }
  return toWireError(error, logger);
}
