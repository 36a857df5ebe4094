#!/usr/bin/env node
// `ccs-inspect`: a stream inspector for the operators of a deployment (`ccs-inspect --help`).
// Reads DATABASE_URL (tail, range), CCS_ADMIN_URL and CCS_ADMIN_TOKEN (the admin API of a
// node). Errors go to stderr as `ccs-inspect: <code>: <message>`; the exit code is 1.
import { CommanderError } from 'commander';
import { createInspectCli } from './inspect-command.js';

try {
  await createInspectCli().parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // --help and --version end here too (exit code 0, already printed).
    if (error.exitCode !== 0) {
      console.error(`ccs-inspect: invalid_arguments: ${error.message.replace(/^error: /, '')}`);
    }
    process.exitCode = error.exitCode;
  } else {
    const code = (error as { code?: unknown }).code;
    const message = error instanceof Error ? error.message : String(error);
    console.error(`ccs-inspect: ${typeof code === 'string' ? code : 'internal'}: ${message}`);
    process.exitCode = 1;
  }
}
