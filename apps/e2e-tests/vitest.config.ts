import { defineProjectTestConfig } from '../../vitest.shared.js';

export default defineProjectTestConfig({ name: 'e2e-tests', root: import.meta.dirname });
