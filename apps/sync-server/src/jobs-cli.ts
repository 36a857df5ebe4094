#!/usr/bin/env node
// `ccs-jobs`: failed background jobs of a deployment (`ccs-jobs failed [--queue <name>] [--limit
// <n>] [--json]`, `ccs-jobs retry <queue> <id>`). Reads REDIS_URL, CCS_REDIS_PREFIX and
// CCS_CHANGE_FEEDS like the server. Errors go to stderr with their code; the exit code is 1.
import { createJobsCli } from './jobs-command.js';

try {
  await createJobsCli().parseAsync(process.argv);
} catch (error) {
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : String(error);
  console.error(`ccs-jobs: ${typeof code === 'string' ? `${code}: ` : ''}${message}`);
  process.exitCode = 1;
}
