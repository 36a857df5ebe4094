import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { promisify } from 'node:util';
import { z } from 'zod';
import { FAULT_ACTIONS, type FaultAction, type StackControl } from './fault-target.js';

const run = promisify(execFile);

/** The environment variable naming an operator's fault target file. */
export const FAULT_TARGET_VARIABLE = 'CCS_FAULT_TARGET';

const httpUrl = z
  .url({ protocol: /^https?$/, error: 'expected the http(s) URL of a gateway' })
  .transform((url) => url.replace(/\/+$/, ''));
const commandLine = z.string().trim().min(1, 'expected a shell command line');

/** An operator's fault target file: their stack, and how to do each fault to it. */
const operatorTargetSchema = z.strictObject({
  /** Node A's and node B's base URLs (both may be one URL where one gateway serves). */
  gateways: z.tuple([httpUrl, httpUrl]),
  /** The gateways' database: seeded through, and where their backends are terminated. */
  databaseUrl: z.string().regex(/^postgres(ql)?:\/\//, 'expected a postgres:// connection URL'),
  /** The gateways' `CCS_JWT_SECRET`. */
  jwtSecret: z.string().min(1),
  /** Shell command lines, run with `/bin/sh -c` in the file's directory. */
  commands: z
    .strictObject(
      Object.fromEntries(FAULT_ACTIONS.map((action) => [action, commandLine.optional()])) as {
        [A in FaultAction]: z.ZodOptional<typeof commandLine>;
      },
    )
    .default({}),
  /** How long one command may run. @default 60000 */
  commandTimeoutMs: z.number().int().positive().default(60_000),
  /** How long a fault's effect, or a restarted service, may take to show. @default 60000 */
  readyTimeoutMs: z.number().int().positive().default(60_000),
});

/** An operator's fault target, as read from its file. */
export type OperatorTargetConfig = z.output<typeof operatorTargetSchema> & {
  /** The file's absolute path: commands run in its directory. */
  readonly path: string;
};

/**
 * Reads and checks an operator's fault target file (a path relative to the working directory);
 * throws an error naming the file and, for each bad field, its path (`gateways.1: …`).
 */
export function readOperatorTarget(file: string): OperatorTargetConfig {
  const path = resolve(file);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(`fault target ${path}: ${(error as Error).message}`, { cause: error });
  }
  const parsed = operatorTargetSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `  ${issue.path.join('.') || '(the file)'}: ${issue.message}`,
    );
    throw new Error(`fault target ${path} is not valid:\n${problems.join('\n')}`);
  }
  return { ...parsed.data, path };
}

/** Runs a shell command line; rejects with its exit status and output when it fails. */
export async function runCommandLine(
  line: string,
  options: { readonly cwd: string; readonly timeoutMs: number },
): Promise<void> {
  try {
    await run('/bin/sh', ['-c', line], { cwd: options.cwd, timeout: options.timeoutMs });
  } catch (error) {
    const failed = error as Error & { code?: number | string; killed?: boolean; stderr?: string };
    const why = failed.killed ? `timed out after ${options.timeoutMs} ms` : `exit ${failed.code}`;
    throw new Error(`\`${line}\` failed (${why}): ${failed.stderr?.trim() || failed.message}`, {
      cause: error,
    });
  }
}

/** The faults' command names that `config` lacks among `actions`. */
export function missingCommands(
  config: OperatorTargetConfig,
  actions: readonly FaultAction[],
): FaultAction[] {
  return actions.filter((action) => config.commands[action] === undefined);
}

/** The operator's stack: its URLs and database, each fault one of its shell commands. */
export function operatorStack(config: OperatorTargetConfig): StackControl {
  const cwd = dirname(config.path);
  const actions: Partial<Record<FaultAction, () => Promise<void>>> = {};
  for (const action of FAULT_ACTIONS) {
    const line = config.commands[action];
    if (line !== undefined) {
      actions[action] = () => runCommandLine(line, { cwd, timeoutMs: config.commandTimeoutMs });
    }
  }
  return {
    description: `operator stack ${config.path}`,
    gateways: { A: config.gateways[0], B: config.gateways[1] },
    jwtSecret: config.jwtSecret,
    databaseUrl: config.databaseUrl,
    readyTimeoutMs: config.readyTimeoutMs,
    actions,
    // What the operator runs is theirs to stop.
    close: async () => undefined,
  };
}
