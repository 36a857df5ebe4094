import { resolve } from 'node:path';
import { defineProjectTestConfig } from '../../vitest.shared.js';

const config = defineProjectTestConfig({
  name: 'e2e-tests',
  root: import.meta.dirname,
  testEnv: true,
  testTimeout: 30_000,
});
if (process.env['CCS_FAULT_TARGET']) {
  // The fault suite against an operator's stack (test/faults/operator-stack.ts): only the fault
  // tests, one file at a time (they share that stack), and nothing of the local test
  // environment (no template database, no shared server): the stack is all they need.
  config.test!.include = ['test/faults/**/*.test.ts'];
  config.test!.globalSetup = [];
  config.test!.fileParallelism = false;
} else {
  // After the template exists, start sync-server as a real process for the whole suite.
  config.test!.globalSetup = [
    ...(config.test!.globalSetup as string[]),
    resolve(import.meta.dirname, 'test/sync-server-process.setup.ts'),
  ];
}
export default config;
