import { createHash, timingSafeEqual } from 'node:crypto';
import type { Database } from '@ccs/db';
import { FailedJobError, listFailedJobs, retryFailedJob } from '@ccs/jobs';
import { parsePayload, RealtimeError } from '@ccs/realtime';
import type { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { registerInspectorRoutes, type InspectorDeps } from './inspector-routes.js';
import { sendWireError } from './rest-errors.js';
import {
  MAX_APP_WEBHOOK_ENDPOINTS,
  registerEndpointRoutes,
  sendRouteError,
} from './webhook-routes.js';

/** What {@link registerAdminRoutes} needs. */
export interface AdminDeps {
  /** The Bearer token of every `/v1/admin` request (`CCS_ADMIN_TOKEN`). */
  readonly adminToken: string;
  readonly db: Database;
  /** The queues the failed-jobs view looks in (`JobWorkers.queues` or `openJobQueues`). */
  readonly queues: readonly Queue[];
  /**
   * The stream inspector's routes (subscribers, devices, resync), for a node that serves
   * sockets; absent on a worker, whose `/v1/admin` has none.
   */
  readonly inspector?: InspectorDeps;
}

const failedQuerySchema = z.object({
  queue: z.string().min(1).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

const retryParamsSchema = z.object({ queue: z.string().min(1), id: z.string().min(1) });

const BEARER = /^Bearer (.+)$/i;

/** SHA-256 of both sides first: equal lengths for timingSafeEqual, and no length leaks. */
const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/**
 * `/v1/admin`, for the operators of the deployment, every route behind `Authorization: Bearer
 * <CCS_ADMIN_TOKEN>` (401 `unauthorized` otherwise, unknown routes included):
 * - `POST`/`GET /v1/admin/webhooks`, `DELETE /v1/admin/webhooks/:id`: app-wide webhook endpoints,
 *   notified of every offline recipient (shapes as `/v1/webhooks`);
 * - `GET /v1/admin/jobs/failed?queue=&limit=` → `{ jobs }`, newest first (`limit` 1–500,
 *   default 50; an unknown `queue` is `not_found`);
 * - `POST /v1/admin/jobs/:queue/:id/retry` → `{ ok: true }`: the failed job runs again with its
 *   attempts reset (`not_found`, or `conflict` when the job is not failed);
 * - with `deps.inspector` (gateways), the stream inspector: `GET /v1/admin/streams/:stream/
 *   subscribers`, `GET /v1/admin/devices/:deviceId`, `POST /v1/admin/streams/:stream/resync`,
 *   `POST /v1/admin/devices/:deviceId/resync` (see {@link registerInspectorRoutes}).
 * Register it only with a token: without one, `/v1/admin` does not exist.
 */
export function registerAdminRoutes(app: FastifyInstance, deps: AdminDeps): void {
  const expected = digest(deps.adminToken);
  void app.register(
    async (admin) => {
      admin.addHook('onRequest', async (request) => {
        const match = BEARER.exec(request.headers.authorization ?? '');
        if (!match || !timingSafeEqual(digest(match[1]!), expected)) {
          throw new RealtimeError(
            'unauthorized',
            'send the admin token (CCS_ADMIN_TOKEN) as "Authorization: Bearer <token>"',
          );
        }
      });
      admin.setErrorHandler((error, request, reply) => {
        if (error instanceof FailedJobError) {
          return sendWireError(reply, { code: error.code, message: error.message });
        }
        return sendRouteError(error, request, reply);
      });
      admin.setNotFoundHandler((request, reply) =>
        sendWireError(reply, {
          code: 'not_found',
          message: `no route ${request.method} ${request.url}`,
        }),
      );

      registerEndpointRoutes(admin, {
        db: deps.db,
        owner: () => ({ userId: null }),
        maxEndpoints: MAX_APP_WEBHOOK_ENDPOINTS,
        what: 'admin webhooks',
      });

      admin.get('/jobs/failed', async (request) => {
        const query = parsePayload('failed jobs', failedQuerySchema, request.query);
        let queues = deps.queues;
        if (query.queue !== undefined) {
          queues = deps.queues.filter((queue) => queue.name === query.queue);
          if (queues.length === 0) {
            throw new RealtimeError(
              'not_found',
              `no queue "${query.queue}"; queues: ${deps.queues.map((queue) => queue.name).join(', ')}`,
            );
          }
        }
        return { jobs: (await listFailedJobs(queues, query.limit)).slice(0, query.limit) };
      });

      admin.post('/jobs/:queue/:id/retry', async (request) => {
        const job = parsePayload('retry job', retryParamsSchema, request.params);
        await retryFailedJob(deps.queues, job.queue, job.id);
        return { ok: true };
      });

      if (deps.inspector) registerInspectorRoutes(admin, deps.inspector);
    },
    { prefix: '/v1/admin' },
  );
}
