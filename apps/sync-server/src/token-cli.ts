#!/usr/bin/env node
// `ccs-token`: mints a device token for development (`ccs-token --user <uuid> --device <uuid>
// --create`). Reads DATABASE_URL and CCS_JWT_SECRET like the server.
import { explainDbError } from '@ccs/db';
import { createTokenCli } from './token-command.js';

try {
  await createTokenCli().parseAsync(process.argv);
} catch (error) {
  console.error(`ccs-token: ${explainDbError(error)}`);
  process.exitCode = 1;
}
