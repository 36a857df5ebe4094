import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';

/** Options of {@link registerDemoPage}. */
export interface DemoPageOptions {
  /** Whether the page offers to mint a development token (`POST /v1/dev/tokens` is served). */
  readonly devTokens: boolean;
  /** The SDK's browser bundle. @default `@ccs/client/browser` as installed */
  readonly bundlePath?: string;
}

/** The page's own files: `apps/sync-server/demo/`, beside `src/` and `dist/`. */
const DEMO_DIR = fileURLToPath(new URL('../../demo/', import.meta.url));

/**
 * `GET /demo`: a small page on the device SDK (`@ccs/client`'s browser bundle) — a conversation
 * and a workspace's files, live, for a device token pasted in (or, with `devTokens`, minted).
 * The page is harmless without a token, so it is served in every environment. Its files are
 * read on first request and kept; a bundle not built yet is answered with how to build it.
 */
export function registerDemoPage(app: FastifyInstance, options: DemoPageOptions): void {
  const files = new Map<string, Promise<Buffer>>();
  const load = (path: string): Promise<Buffer> => {
    let file = files.get(path);
    if (!file) {
      file = readFile(path);
      files.set(path, file);
      // A file that is missing now may be built later: try again next time.
      file.catch(() => files.delete(path));
    }
    return file;
  };
  const bundlePath = (): string =>
    options.bundlePath ?? createRequire(import.meta.url).resolve('@ccs/client/browser');
  const serve = async (
    reply: FastifyReply,
    type: string,
    path: () => string,
    missing: string,
  ): Promise<FastifyReply> => {
    try {
      const body = await load(path());
      return reply.type(type).header('cache-control', 'no-cache').send(body);
    } catch {
      return reply.code(503).type('text/plain; charset=utf-8').send(missing);
    }
  };
  const notBuilt =
    'the SDK browser bundle is not built: run `npx nx run client:bundle` (sync-server:build does)';

  app.get('/demo', async (_request, reply) => {
    const page = (await load(join(DEMO_DIR, 'index.html'))).toString('utf8');
    return reply
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-cache')
      .send(
        page.replace(
          'data-dev-tokens="off"',
          `data-dev-tokens="${options.devTokens ? 'on' : 'off'}"`,
        ),
      );
  });
  app.get('/demo/demo.js', (_request, reply) =>
    serve(reply, 'text/javascript; charset=utf-8', () => join(DEMO_DIR, 'demo.js'), 'no demo.js'),
  );
  app.get('/demo/ccs-client.js', (_request, reply) =>
    serve(reply, 'text/javascript; charset=utf-8', bundlePath, notBuilt),
  );
  app.get('/demo/ccs-client.js.map', (_request, reply) =>
    serve(reply, 'application/json', () => `${bundlePath()}.map`, notBuilt),
  );
}
