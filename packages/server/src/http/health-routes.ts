import type { FastifyInstance } from 'fastify';

/** A named dependency check for `/readyz`; resolves when the dependency answers. */
export type ReadinessCheck = () => Promise<void>;

/**
 * `/healthz`: the process serves (liveness). `/readyz`: every dependency answers within the
 * timeout (PostgreSQL, Redis), else 503 with the failing checks named.
 */
export function registerHealthRoutes(
  app: FastifyInstance,
  checks: Readonly<Record<string, ReadinessCheck>>,
  timeoutMs = 2000,
): void {
  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    const results = await Promise.all(
      Object.entries(checks).map(async ([name, check]) => {
        try {
          await withTimeout(check(), timeoutMs);
          return [name, 'ok'] as const;
        } catch (error) {
          return [name, (error as Error).message || 'failed'] as const;
        }
      }),
    );
    const ready = results.every(([, result]) => result === 'ok');
    return reply
      .code(ready ? 200 : 503)
      .send({ status: ready ? 'ready' : 'unavailable', checks: Object.fromEntries(results) });
  });
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
