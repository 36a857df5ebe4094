import { defineProjectTestConfig } from '../../vitest.shared.js';

export default defineProjectTestConfig({
  name: 'test-env',
  root: import.meta.dirname,
  testEnv: true,
});
