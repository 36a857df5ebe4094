import { defineProjectTestConfig } from '../../vitest.shared.js';

export default defineProjectTestConfig({ name: 'test-clients', root: import.meta.dirname });
