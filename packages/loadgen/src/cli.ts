#!/usr/bin/env node
// `ccs-load`: the command line of @ccs/loadgen (`ccs-load chat-fanout --send-rate 500 --max-p99 25`).
import { createLoadCommand } from './run/load-command.js';

try {
  await createLoadCommand().parseAsync(process.argv);
} catch (error) {
  console.error(`ccs-load: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
