import { describe, expect, it } from 'vitest';
import { siblingModule } from './sibling-module.js';

describe('siblingModule', () => {
  it("names the sibling with the caller's extension", () => {
    expect(siblingModule('file:///repo/src/bench/runner.ts', 'worker').href).toBe(
      'file:///repo/src/bench/worker.ts',
    );
    expect(siblingModule('file:///repo/dist/bench/runner.js', 'worker').href).toBe(
      'file:///repo/dist/bench/worker.js',
    );
  });

  it('ignores a query string on the caller', () => {
    expect(siblingModule('file:///repo/src/runner.ts?v=3', 'worker').pathname).toBe(
      '/repo/src/worker.ts',
    );
  });

  it('names this very module from its own import.meta.url', () => {
    expect(siblingModule(import.meta.url, 'sibling-module').href).toBe(
      new URL('./sibling-module.ts', import.meta.url).href,
    );
  });

  it('refuses a caller that is neither .ts nor .js', () => {
    expect(() => siblingModule('file:///repo/src/runner.mjs', 'worker')).toThrow(
      /import\.meta\.url/,
    );
  });
});
