import { defineProjectTestConfig } from '../../vitest.shared.js';

export default defineProjectTestConfig({
  name: 'server',
  root: import.meta.dirname,
  testEnv: true,
});
