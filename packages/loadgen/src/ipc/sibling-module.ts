import path from 'node:path';

/**
 * The module `baseName` next to the caller, with the caller's own extension: `./<baseName>.ts`
 * when the caller runs from source (tsx), `./<baseName>.js` when it runs from a build. Made to
 * name what {@link ChildLink.fork} starts.
 *
 * @example
 * const server = await ChildLink.fork<ServerCalls>(siblingModule(import.meta.url, 'bench-server'));
 */
export function siblingModule(importMetaUrl: string, baseName: string): URL {
  const caller = new URL(importMetaUrl);
  const extension = path.posix.extname(caller.pathname);
  if (extension !== '.ts' && extension !== '.js') {
    throw new Error(
      `siblingModule: ${caller.pathname} is neither a .ts nor a .js module; pass import.meta.url`,
    );
  }
  return new URL(`./${baseName}${extension}`, caller);
}
