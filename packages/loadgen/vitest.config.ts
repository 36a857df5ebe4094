import { defineProjectTestConfig } from '../../vitest.shared.js';

export default defineProjectTestConfig({
  name: 'loadgen',
  root: import.meta.dirname,
  testEnv: true,
  testTimeout: 120_000,
});
