import { resolve } from 'node:path';
import { defineProjectTestConfig } from '../../vitest.shared.js';

const config = defineProjectTestConfig({
  name: 'e2e-tests',
  root: import.meta.dirname,
  testEnv: true,
  testTimeout: 30_000,
});
// After the template exists, start sync-server as a real process for the whole suite.
config.test!.globalSetup = [
  ...(config.test!.globalSetup as string[]),
  resolve(import.meta.dirname, 'test/sync-server-process.setup.ts'),
];
export default config;
