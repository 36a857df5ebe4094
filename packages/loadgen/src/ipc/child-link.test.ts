import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChildLink } from './child-link.js';

interface EchoCalls {
  echo: { params: { text: string }; result: string };
  fail: { params: { reason: string }; result: never };
  execArgv: { params: Record<string, never>; result: readonly string[] };
}

/** A TypeScript child serving {@link EchoCalls} through serveParentCalls. */
const TS_CHILD = (parentCalls: string) => `
import { serveParentCalls } from ${JSON.stringify(parentCalls)};
interface Calls {
  echo: { params: { text: string }; result: string };
  fail: { params: { reason: string }; result: never };
  execArgv: { params: Record<string, never>; result: readonly string[] };
}
serveParentCalls<Calls>({
  echo: ({ text }) => text.toUpperCase(),
  fail: async ({ reason }) => { throw new Error(reason); },
  execArgv: () => process.execArgv,
});
`;

/** A plain JavaScript child speaking the same protocol by hand (a build has no tsx). */
const JS_CHILD = `
process.on('message', (request) => {
  if (request.kind === 'call') process.send({ kind: 'reply', id: request.id, result: process.execArgv });
});
process.on('disconnect', () => process.exit(0));
process.send({ kind: 'ready' });
`;

describe('ChildLink', () => {
  let directory: string;
  let tsChild: URL;
  let jsChild: URL;

  beforeAll(async () => {
    directory = await mkdtemp(path.join(tmpdir(), 'child-link-'));
    tsChild = pathToFileURL(path.join(directory, 'echo-child.ts'));
    jsChild = pathToFileURL(path.join(directory, 'argv-child.js'));
    const parentCalls = new URL('./parent-calls.ts', import.meta.url).href;
    await writeFile(tsChild, TS_CHILD(parentCalls));
    await writeFile(jsChild, JS_CHILD);
  });

  afterAll(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  it('forks a .ts module through tsx and makes typed calls to it', async () => {
    const child = await ChildLink.fork<EchoCalls>(tsChild);
    try {
      expect(child.pid).toBeGreaterThan(0);
      await expect(child.call('echo', { text: 'hi' })).resolves.toBe('HI');
      const [echoed, argv] = await Promise.all([
        child.call('echo', { text: 'two at once' }),
        child.call('execArgv', {}),
      ]);
      expect(echoed).toBe('TWO AT ONCE');
      expect(argv).toEqual(expect.arrayContaining(['--conditions=@ccs/source']));
      expect(argv.join(' ')).toContain('tsx');
    } finally {
      await child.exit();
    }
  });

  it("rejects a call with the child's error, and keeps serving", async () => {
    const child = await ChildLink.fork<EchoCalls>(tsChild);
    try {
      await expect(child.call('fail', { reason: 'no such stream' })).rejects.toThrow(
        /no such stream/,
      );
      await expect(child.call('echo', { text: 'still here' })).resolves.toBe('STILL HERE');
    } finally {
      await child.exit();
    }
  });

  it('forks a built .js module on plain node, with the extra flags only', async () => {
    const child = await ChildLink.fork<EchoCalls>(jsChild, { nodeFlags: ['--no-warnings'] });
    try {
      await expect(child.call('execArgv', {})).resolves.toEqual(['--no-warnings']);
    } finally {
      await child.exit();
    }
  });

  it('rejects calls once the child has exited', async () => {
    const child = await ChildLink.fork<EchoCalls>(jsChild);
    await child.exit();
    await expect(child.call('echo', { text: 'anyone?' })).rejects.toThrow(/exited/);
  });

  it('refuses a module that is neither .ts nor .js', async () => {
    await expect(ChildLink.fork(new URL('file:///tmp/child.mjs'))).rejects.toThrow(
      /neither a \.ts nor a \.js/,
    );
  });
});
