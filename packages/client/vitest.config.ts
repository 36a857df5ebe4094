import { defineProjectTestConfig } from '../../vitest.shared.js';

export default defineProjectTestConfig({ name: 'client', root: import.meta.dirname });
