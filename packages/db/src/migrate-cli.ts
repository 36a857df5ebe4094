#!/usr/bin/env node
// `nx run db:migrate`: applies pending migrations to DATABASE_URL (the only env this package reads,
// because it is a command, not a library).
import { migrateDatabase, redactUrl } from './migrations.js';

const url = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/ccs';
await migrateDatabase(url);
console.log(`migrated ${redactUrl(url)}`);
