import { defineProjectTestConfig } from '../../vitest.shared.js';

export default defineProjectTestConfig({
  name: 'realtime',
  root: import.meta.dirname,
  testEnv: true,
});
