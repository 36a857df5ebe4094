import {
  findDevice,
  findUser,
  insertDeviceIfMissing,
  insertUserIfMissing,
  type Database,
} from '@ccs/db';
import { signDeviceToken, verifyDeviceToken, type VerifiedDeviceToken } from '@ccs/protocol';
import { z } from 'zod';

/** What a development token is minted for. */
export const devTokenRequestSchema = z.strictObject({
  /** The user's id; with `create`, a user with this id is made when there is none. */
  user: z.uuid().toLowerCase(),
  /** The device's id; with `create`, a device of `user` with this id is made when there is none. */
  device: z.uuid().toLowerCase(),
  /** Make the user and the device when they do not exist yet. @default false */
  create: z.boolean().default(false),
  /** Lifetime in jose's syntax (`'1h'`, `'7d'`). @default '1h' */
  expiresIn: z
    .string()
    .regex(/^\d+\s?(s|sec|m|min|h|hr|d|day|w|week)s?$/, 'expected e.g. "30m", "1h" or "7d"')
    .default('1h'),
});
export type DevTokenRequest = z.input<typeof devTokenRequestSchema>;

/** A minted token and whom it is for. */
export interface DevToken extends VerifiedDeviceToken {
  readonly token: string;
}

/** Why a token could not be minted; `code` is a wire error code. */
export class DevTokenError extends Error {
  override readonly name = 'DevTokenError';

  constructor(
    readonly code: 'invalid_payload' | 'not_found' | 'conflict',
    message: string,
  ) {
    super(message);
  }
}

/**
 * Mints a device token for development and tests (the `ccs-token` CLI and, outside production,
 * `POST /v1/dev/tokens`), making the user and device first when asked. The token is checked as
 * the gateway will check it, so a lifetime over the server's maximum is refused here.
 */
export async function mintDevToken(
  db: Database,
  /** A {@link DevTokenRequest}, validated here (it may come straight from an HTTP body). */
  request: unknown,
  signing: { readonly jwtSecret: string; readonly maxLifetimeSeconds: number },
): Promise<DevToken> {
  const parsed = devTokenRequestSchema.safeParse(request);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new DevTokenError(
      'invalid_payload',
      `${issue?.path.join('.') || 'request'}: ${issue?.message ?? 'invalid'}`,
    );
  }
  const { user, device, create, expiresIn } = parsed.data;
  // Made with "if missing": the first sign-ins of a new user on two devices race each other.
  if (create) {
    await insertUserIfMissing(db, { id: user, name: `dev user ${user.slice(0, 8)}` });
  } else if (!(await findUser(db, user))) {
    throw new DevTokenError('not_found', `no user ${user}; pass create to make one`);
  }
  let existingDevice = await findDevice(db, device);
  if (!existingDevice) {
    if (!create)
      throw new DevTokenError('not_found', `no device ${device}; pass create to make one`);
    existingDevice = await insertDeviceIfMissing(db, {
      id: device,
      userId: user,
      name: `dev device ${device.slice(0, 8)}`,
    });
  }
  if (existingDevice.userId !== user) {
    throw new DevTokenError('conflict', `device ${device} belongs to another user`);
  }
  if (existingDevice.revokedAt !== null) {
    throw new DevTokenError('conflict', `device ${device} is revoked`);
  }
  const token = await signDeviceToken(
    { userId: user, deviceId: device },
    {
      secret: signing.jwtSecret,
      expiresIn,
    },
  );
  try {
    const verified = await verifyDeviceToken(token, signing.jwtSecret, {
      maxLifetimeSeconds: signing.maxLifetimeSeconds,
    });
    return { ...verified, token };
  } catch (error) {
    throw new DevTokenError('invalid_payload', `expiresIn: ${(error as Error).message}`);
  }
}
