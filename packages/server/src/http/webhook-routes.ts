import { randomBytes } from 'node:crypto';
import {
  deleteWebhookEndpoint,
  insertWebhookEndpoint,
  listWebhookEndpoints,
  type Database,
  type WebhookEndpoint,
  type WebhookOwner,
} from '@ccs/db';
import { idSchema, type WireError } from '@ccs/protocol';
import { parsePayload, RealtimeError } from '@ccs/realtime';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { authenticateRequest, type RestAuthDeps } from './rest-auth.js';
import { sendWireError } from './rest-errors.js';

/** Endpoints one user may have. */
export const MAX_USER_WEBHOOK_ENDPOINTS = 10;
/** App-wide endpoints (each one gets every offline recipient's notifications). */
export const MAX_APP_WEBHOOK_ENDPOINTS = 20;
/** Longest endpoint URL accepted. */
export const MAX_WEBHOOK_URL_LENGTH = 2048;

/** The body of `POST …/webhooks`: an http(s) URL, nothing else (the secret is made here). */
const createEndpointSchema = z.strictObject({
  url: z
    .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })
    .max(MAX_WEBHOOK_URL_LENGTH, `must be at most ${MAX_WEBHOOK_URL_LENGTH} characters`),
});

const endpointParamsSchema = z.object({ id: idSchema });

/** An endpoint as listed: never its secret. */
export interface WebhookEndpointView {
  readonly id: string;
  readonly url: string;
  readonly createdAt: string;
}

/** An endpoint as created: with its secret, shown this once. */
export interface CreatedWebhookEndpoint extends WebhookEndpointView {
  readonly secret: string;
}

const view = (endpoint: WebhookEndpoint): WebhookEndpointView => ({
  id: endpoint.id,
  url: endpoint.url,
  createdAt: endpoint.createdAt.toISOString(),
});

/**
 * The webhook endpoint routes of one owner, shared by the users' (`/v1/webhooks`) and the app's
 * (`/v1/admin/webhooks`): `POST /webhooks {url}` → 201 with the secret (32 random bytes,
 * base64url; returned only here), `GET /webhooks` → `{ endpoints }`, `DELETE /webhooks/:id` →
 * 204, or 404 when the owner has no such endpoint.
 */
export function registerEndpointRoutes(
  scope: FastifyInstance,
  options: {
    readonly db: Database;
    readonly owner: (request: FastifyRequest) => WebhookOwner;
    readonly maxEndpoints: number;
    /** Names the request in validation errors. */
    readonly what: string;
  },
): void {
  const { db, owner, maxEndpoints, what } = options;

  scope.post('/webhooks', async (request, reply) => {
    const { url } = parsePayload(what, createEndpointSchema, request.body);
    const created = await createEndpoint(db, owner(request), url, maxEndpoints);
    return reply.code(201).send(created);
  });

  scope.get('/webhooks', async (request) => ({
    endpoints: (await listWebhookEndpoints(db, owner(request))).map(view),
  }));

  scope.delete('/webhooks/:id', async (request, reply) => {
    const { id } = parsePayload(what, endpointParamsSchema, request.params);
    if (!(await deleteWebhookEndpoint(db, { ...owner(request), id }))) {
      throw new RealtimeError('not_found', `no webhook endpoint ${id}`);
    }
    return reply.code(204).send();
  });
}

/**
 * Adds an endpoint within the owner's cap. The count is checked before the insert and the new
 * endpoint's rank (oldest first) after it, so requests racing past the first check do not stay
 * over the cap: the ones ranked past it are removed again and refused.
 */
async function createEndpoint(
  db: Database,
  owner: WebhookOwner,
  url: string,
  maxEndpoints: number,
): Promise<CreatedWebhookEndpoint> {
  const capReached = (): RealtimeError =>
    new RealtimeError(
      'conflict',
      `at most ${maxEndpoints} webhook endpoints; delete one (DELETE …/webhooks/:id) to add another`,
    );
  if ((await listWebhookEndpoints(db, owner)).length >= maxEndpoints) throw capReached();
  const secret = randomBytes(32).toString('base64url');
  const endpoint = await insertWebhookEndpoint(db, { ...owner, url, secret });
  const rank = (await listWebhookEndpoints(db, owner)).findIndex(({ id }) => id === endpoint.id);
  if (rank >= maxEndpoints) {
    await deleteWebhookEndpoint(db, { ...owner, id: endpoint.id });
    throw capReached();
  }
  return { ...view(endpoint), secret };
}

/**
 * The error handler of the webhook and admin routes: `{ code, message }` as the other `/v1`
 * routes answer, fastify's own refusals (bad JSON, wrong content type) as `invalid_payload`,
 * anything unexpected as `internal` (logged).
 */
export function sendRouteError(
  error: unknown,
  request: FastifyRequest,
  reply: FastifyReply,
): FastifyReply {
  if (error instanceof RealtimeError) return sendWireError(reply, error.toWire());
  const status = (error as { statusCode?: unknown }).statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const wire: WireError = { code: 'invalid_payload', message: (error as Error).message };
    return sendWireError(reply, wire, status === 413 || status === 415 ? status : 400);
  }
  request.log.error({ err: error }, 'webhook or admin route failed');
  return sendWireError(reply, { code: 'internal', message: 'internal error; retry later' });
}

/**
 * `/v1/webhooks`: the calling user's own webhook endpoints, where their offline notifications are
 * POSTed (see {@link registerEndpointRoutes}). Authenticated with the device token as every
 * `/v1` route; at most {@link MAX_USER_WEBHOOK_ENDPOINTS} per user.
 *
 * @example
 * await registerWebhookRoutes(app, { db, authDb, jwtSecret, maxTokenLifetimeSeconds, requestRates, requestsPerSecond });
 */
export async function registerWebhookRoutes(
  app: FastifyInstance,
  deps: RestAuthDeps & { readonly db: Database },
): Promise<void> {
  await app.register(
    async (v1) => {
      // `actor` as rest-routes.ts declares it, decorated in this plugin's scope of its own.
      v1.decorateRequest('actor');
      v1.addHook('onRequest', async (request) => {
        request.actor = await authenticateRequest(request, deps);
      });
      v1.setErrorHandler(sendRouteError);
      registerEndpointRoutes(v1, {
        db: deps.db,
        owner: (request) => ({ userId: request.actor.userId }),
        maxEndpoints: MAX_USER_WEBHOOK_ENDPOINTS,
        what: 'webhooks',
      });
    },
    { prefix: '/v1' },
  );
}
