import type { Database } from '@ccs/db';
import type { FastifyInstance } from 'fastify';
import { DevTokenError, mintDevToken } from '../dev-tokens.js';

/**
 * `POST /v1/dev/tokens` `{ user, device, create?, expiresIn? }` → `{ token, userId, deviceId,
 * expiresAt }`: a device token for development. Register it only outside production.
 */
export function registerDevTokenRoute(
  app: FastifyInstance,
  db: Database,
  signing: { readonly jwtSecret: string; readonly maxLifetimeSeconds: number },
): void {
  app.post('/v1/dev/tokens', async (request, reply) => {
    try {
      const minted = await mintDevToken(db, request.body ?? {}, signing);
      return {
        token: minted.token,
        userId: minted.userId,
        deviceId: minted.deviceId,
        expiresAt: new Date(minted.expiresAt).toISOString(),
      };
    } catch (error) {
      if (!(error instanceof DevTokenError)) {
        request.log.error({ err: error }, 'minting a development token failed');
        return reply.code(500).send({ code: 'internal', message: 'internal error; retry later' });
      }
      const status = error.code === 'not_found' ? 404 : error.code === 'conflict' ? 409 : 400;
      return reply.code(status).send({ code: error.code, message: error.message });
    }
  });
}
