import { defineProjectTestConfig } from '../../vitest.shared.js';

export default defineProjectTestConfig({
  name: 'sync-server',
  root: import.meta.dirname,
  testEnv: true,
});
