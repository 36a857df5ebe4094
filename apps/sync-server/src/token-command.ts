import { createDatabase } from '@ccs/db';
import { Command, Option } from 'commander';
import { loadConfig, mintDevToken } from '@ccs/server';

/**
 * The `ccs-token` program: prints a device token for `--user` and `--device` (making them with
 * `--create`), signed with the server's `CCS_JWT_SECRET`, for `DATABASE_URL`'s database.
 *
 * @example
 * await createTokenCli((line) => console.log(line)).parseAsync([
 *   'node', 'ccs-token', '--user', userId, '--device', deviceId, '--create',
 * ]);
 */
export function createTokenCli(
  out: (text: string) => void = (text) => process.stdout.write(`${text}\n`),
  env: NodeJS.ProcessEnv = process.env,
): Command {
  return new Command('ccs-token')
    .description('Mint a device token for development (never in production)')
    .requiredOption('--user <uuid>', 'the user id')
    .requiredOption('--device <uuid>', 'the device id, of that user')
    .option('--create', 'make the user and the device when they do not exist', false)
    .option('--expires-in <span>', 'lifetime, e.g. 30m, 1h, 7d', '1h')
    .addOption(new Option('--json', 'print { token, userId, deviceId, expiresAt }').default(false))
    .action(
      async (options: {
        user: string;
        device: string;
        create: boolean;
        expiresIn: string;
        json: boolean;
      }) => {
        const config = loadConfig(env);
        if (config.env === 'production') {
          throw new Error('refused: NODE_ENV is production; mint tokens with your sign-in service');
        }
        const database = createDatabase({ url: config.databaseUrl, maxConnections: 1 });
        try {
          const minted = await mintDevToken(
            database.db,
            {
              user: options.user,
              device: options.device,
              create: options.create,
              expiresIn: options.expiresIn,
            },
            {
              jwtSecret: config.jwtSecret,
              maxLifetimeSeconds: config.tokenMaxLifetimeHours * 3600,
            },
          );
          out(
            options.json
              ? JSON.stringify({
                  token: minted.token,
                  userId: minted.userId,
                  deviceId: minted.deviceId,
                  expiresAt: new Date(minted.expiresAt).toISOString(),
                })
              : minted.token,
          );
        } finally {
          await database.close();
        }
      },
    );
}
