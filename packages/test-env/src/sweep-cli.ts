#!/usr/bin/env node
// `ccs-test-sweep`: removes what earlier test runs left behind (see leftover-sweeper.ts); every
// test run's global setup does the same with the defaults.
import { Command } from 'commander';
import { sweepTestLeftovers } from './leftover-sweeper.js';
import { testEnvUrls } from './test-env-info.js';

const defaults = testEnvUrls();
const hours = (value: string): number => {
  const parsed = Number(value);
  if (!(parsed >= 0)) throw new Error(`expected a number of hours ≥ 0, got "${value}"`);
  return parsed * 3_600_000;
};

await new Command('ccs-test-sweep')
  .description("Remove earlier test runs' leftover databases and Redis keys (only test-env's own)")
  .option('--database-url <url>', 'a maintenance database of the server', defaults.adminUrl)
  .option('--redis-url <url>', 'Redis of the test prefixes', defaults.redisUrl)
  .option(
    '--kept-max-age-hours <h>',
    "failed tests' kept databases older than this go",
    hours,
    24 * 3_600_000,
  )
  .option('--spare-max-age-hours <h>', 'spare clones older than this go', hours, 3_600_000)
  .option('--dry-run', 'only print what would go', false)
  .action(
    async (options: {
      databaseUrl: string;
      redisUrl: string;
      keptMaxAgeHours: number;
      spareMaxAgeHours: number;
      dryRun: boolean;
    }) => {
      const swept = await sweepTestLeftovers({
        adminUrl: options.databaseUrl,
        redisUrl: options.redisUrl,
        keptMaxAgeMs: options.keptMaxAgeHours,
        spareMaxAgeMs: options.spareMaxAgeHours,
        dryRun: options.dryRun,
      });
      const verb = options.dryRun ? 'would drop' : 'dropped';
      for (const name of swept.databases) console.log(`${verb} database ${name}`);
      for (const prefix of swept.redisPrefixes) console.log(`${verb} Redis keys under ${prefix}:`);
      console.log(
        `${swept.databases.length} databases, ${swept.redisKeys} Redis keys (${swept.redisPrefixes.length} prefixes)`,
      );
    },
  )
  .parseAsync(process.argv)
  .catch((error: unknown) => {
    console.error(`ccs-test-sweep: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  });
