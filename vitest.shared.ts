import { resolve } from 'node:path';
import { defineConfig, type ViteUserConfig } from 'vitest/config';
import { OpenHandlesReporter } from './packages/test-env/src/open-handles-reporter.js';

/**
 * Conditions that make `@ccs/*` imports resolve to the sibling package's TypeScript source, so a
 * test never runs against a stale `dist/`.
 */
const sourceConditions = ['@ccs/source', 'module', 'node', 'development|production'];

/** Options for {@link defineProjectTestConfig}. */
export interface ProjectTestOptions {
  /** The Nx project name: names the JSON report that `.ci/run` sums up. */
  readonly name: string;
  /** Absolute directory of the project. */
  readonly root: string;
  /**
   * Runs `@ccs/test-env`'s global setup (template database, connection info for `inject`), as
   * every project whose tests use the `database` fixture needs. @default false
   */
  readonly testEnv?: boolean;
  /** Per-test timeout. @default 15_000 */
  readonly testTimeout?: number;
  /** Test file globs. @default ['src/**\/*.test.ts', 'test/**\/*.test.ts'] */
  readonly include?: string[];
}

/** One vitest config shape for every project: real services, JSON report per project. */
export function defineProjectTestConfig(options: ProjectTestOptions): ViteUserConfig {
  const workspaceRoot = import.meta.dirname;
  return defineConfig({
    root: options.root,
    plugins: [
      {
        // Every environment (test files, and the one that runs globalSetup) resolves to source.
        name: 'ccs-source-conditions',
        configEnvironment: () => ({ resolve: { conditions: sourceConditions } }),
      },
    ],
    test: {
      name: options.name,
      include: options.include ?? ['src/**/*.test.ts', 'test/**/*.test.ts'],
      environment: 'node',
      globalSetup: options.testEnv
        ? [resolve(workspaceRoot, 'packages/test-env/src/global-setup.ts')]
        : [],
      testTimeout: options.testTimeout ?? 15_000,
      hookTimeout: 30_000,
      // A test file that leaves a socket, server or timer open fails the run, naming it.
      detectAsyncLeaks: true,
      reporters: [
        'default',
        ['json', { outputFile: resolve(workspaceRoot, 'reports/vitest', `${options.name}.json`) }],
        new OpenHandlesReporter(
          resolve(workspaceRoot, 'reports/vitest', `${options.name}.open-handles.json`),
        ),
      ],
    },
  });
}
