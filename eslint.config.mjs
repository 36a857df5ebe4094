import js from '@eslint/js';
import nx from '@nx/eslint-plugin';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

/**
 * Dependency direction (../shared/DESIGN.md): protocol ← db ← realtime/jobs ← sync-server; the
 * testing packages depend on what they test, never the reverse. Tests of a package may use the
 * testing packages. The deployable service (`scope:app`) composes the server libraries and uses
 * the device SDK for its live demo; no library depends on it.
 */
const productionConstraints = [
  {
    sourceTag: 'scope:app',
    onlyDependOnLibsWithTags: ['scope:shared', 'scope:server', 'scope:client'],
  },
  { sourceTag: 'scope:shared', onlyDependOnLibsWithTags: ['scope:shared'] },
  { sourceTag: 'scope:client', onlyDependOnLibsWithTags: ['scope:shared', 'scope:client'] },
  { sourceTag: 'scope:server', onlyDependOnLibsWithTags: ['scope:shared', 'scope:server'] },
  {
    sourceTag: 'scope:testing',
    onlyDependOnLibsWithTags: ['scope:shared', 'scope:server', 'scope:client', 'scope:testing'],
  },
  { sourceTag: 'type:lib', onlyDependOnLibsWithTags: ['type:lib'] },
  { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:lib'] },
  { sourceTag: 'type:e2e', onlyDependOnLibsWithTags: ['type:lib'] },
];

const testConstraints = productionConstraints.map((constraint) =>
  constraint.sourceTag.startsWith('scope:') && constraint.sourceTag !== 'scope:testing'
    ? {
        ...constraint,
        onlyDependOnLibsWithTags: [...constraint.onlyDependOnLibsWithTags, 'scope:testing'],
      }
    : constraint,
);

// `src/testing.ts` is a package's `./testing` entry: test helpers it ships to other packages.
const testFiles = [
  '**/*.test.ts',
  '**/*.test-d.ts',
  '**/test/**/*.ts',
  '**/bench/**/*.ts',
  '**/src/testing.ts',
];

export default tseslint.config(
  {
    ignores: [
      '**/dist/**',
      '**/node_modules/**',
      '**/drizzle/**',
      'reports/**',
      'bench-results/**',
      '.nx/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.strict,
  ...nx.configs['flat/base'],
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          allow: [],
          depConstraints: productionConstraints,
        },
      ],
    },
  },
  {
    files: testFiles,
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        { enforceBuildableLibDependency: false, allow: [], depConstraints: testConstraints },
      ],
    },
  },
  {
    // Config files import the workspace's shared vitest config by path.
    files: ['**/vitest.config.ts'],
    rules: { '@nx/enforce-module-boundaries': 'off' },
  },
  {
    files: ['**/*.mjs'],
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        URL: 'readonly',
        setTimeout: 'readonly',
      },
    },
  },
  {
    // The demo page's script (served by sync-server at /demo) runs in the browser.
    files: ['apps/sync-server/demo/**/*.js'],
    languageOptions: {
      sourceType: 'module',
      globals: Object.fromEntries(
        [
          'atob',
          'crypto',
          'document',
          'fetch',
          'history',
          'location',
          'sessionStorage',
          'setInterval',
          'TextDecoder',
          'TextEncoder',
          'URLSearchParams',
        ].map((name) => [name, 'readonly']),
      ),
    },
  },
  prettier,
);
