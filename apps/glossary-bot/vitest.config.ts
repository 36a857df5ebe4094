import { defineProjectTestConfig } from '../../vitest.shared.js';

export default defineProjectTestConfig({
  name: 'glossary-bot',
  root: import.meta.dirname,
  testEnv: true,
  testTimeout: 30_000,
});
