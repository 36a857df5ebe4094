import { defineConfig } from 'vitest/config';
import { OpenHandlesReporter } from '../../src/open-handles-reporter.js';

export default defineConfig({
  test: {
    root: import.meta.dirname,
    include: ['*.fixture.ts'],
    detectAsyncLeaks: true,
    reporters: ['default', new OpenHandlesReporter()],
  },
});
