// The browser build of @ccs/client: one ES module, dist/browser/ccs-client.js (+ source map),
// with socket.io-client and @ccs/protocol inside it. `nx run client:bundle` runs it.
import { readFile, stat } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = dirname(fileURLToPath(import.meta.url));
const outfile = join(root, 'dist', 'browser', 'ccs-client.js');

const result = await build({
  entryPoints: [join(root, 'src', 'index.ts')],
  outfile,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  // Workspace packages from their TypeScript sources (no build of them needed first).
  conditions: ['@ccs/source'],
  minify: true,
  sourcemap: true,
  metafile: true,
  logLevel: 'warning',
});

// `src/node.ts` (the file outbox) must stay out, and nothing may need Node at run time.
const inputs = Object.keys(result.metafile.inputs);
const nodeOnly = inputs.filter((input) => input.endsWith('packages/client/src/node.ts'));
const code = await readFile(outfile, 'utf8');
const nodeImports = code.match(/(?:from|import\(|require\()\s*["']node:[^"']+["']/g) ?? [];
const external = Object.values(result.metafile.outputs).flatMap((output) =>
  output.imports.filter((entry) => entry.external).map((entry) => entry.path),
);
if (nodeOnly.length > 0 || nodeImports.length > 0 || external.length > 0) {
  console.error(
    `the browser bundle must be self-contained and free of Node: node.ts ${nodeOnly.length > 0}, ` +
      `node: imports ${JSON.stringify(nodeImports)}, external imports ${JSON.stringify(external)}`,
  );
  process.exit(1);
}
const included = Object.values(result.metafile.outputs).flatMap((output) =>
  Object.values(output.inputs).filter((input) => input.bytesInOutput > 0),
);
console.log(
  `${relative(process.cwd(), outfile)}: ${((await stat(outfile)).size / 1024).toFixed(1)} KiB ` +
    `from ${included.length} modules`,
);
