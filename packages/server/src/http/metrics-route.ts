import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';

/** `/metrics` in the Prometheus text format. */
export function registerMetricsRoute(app: FastifyInstance, registry: Registry): void {
  app.get('/metrics', async (_request, reply) => {
    return reply.type(registry.contentType).send(await registry.metrics());
  });
}
