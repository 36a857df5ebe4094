import { defineProjectTestConfig } from '../../vitest.shared.js';

export default defineProjectTestConfig({ name: 'protocol', root: import.meta.dirname });
