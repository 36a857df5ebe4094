import { defineProjectTestConfig } from '../../vitest.shared.js';

export default defineProjectTestConfig({ name: 'db', root: import.meta.dirname });
