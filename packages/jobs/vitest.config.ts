import { defineProjectTestConfig } from '../../vitest.shared.js';

export default defineProjectTestConfig({ name: 'jobs', root: import.meta.dirname, testEnv: true });
