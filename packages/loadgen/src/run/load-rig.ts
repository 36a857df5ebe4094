import { randomBytes } from 'node:crypto';
import { seedPopulation, type PopulationOptions } from '@ccs/fixtures';
import { signDeviceToken } from '@ccs/protocol';
import { createTestDatabase, ensureTemplateDatabase, type TestDatabase } from '@ccs/test-env';
import type { LoadDevice } from '../clients/load-client-calls.js';

/** Where a run's database and Redis keys live. */
export interface LoadRigOptions {
  /** Maintenance database the run's database is created (and dropped) from. */
  readonly adminUrl: string;
  readonly redisUrl: string;
  /** Readable part of the database name. */
  readonly label: string;
}

/** The population of a scenario, and which devices send. */
export interface PopulationShape extends PopulationOptions {
  /** Devices of each conversation that send messages (the first ones). */
  readonly sendersPerConversation: number;
}

/**
 * What every scenario runs on: a fresh database cloned from the migrated template (dropped at
 * the end), a secret for device tokens, and a Redis key prefix of its own.
 */
export class LoadRig {
  readonly jwtSecret = randomBytes(24).toString('hex');
  readonly redisKeyPrefix = `ccs-load:${randomBytes(4).toString('hex')}:`;

  private constructor(
    readonly database: TestDatabase,
    readonly redisUrl: string,
  ) {}

  static async create(options: LoadRigOptions): Promise<LoadRig> {
    const templateDatabase = await ensureTemplateDatabase(options.adminUrl);
    const database = await createTestDatabase(
      { adminUrl: options.adminUrl, templateDatabase, redisUrl: options.redisUrl },
      { label: `load_${options.label}`, maxConnections: 4, connectionTimeoutMs: 0 },
    );
    return new LoadRig(database, options.redisUrl);
  }

  /** Seeds users, devices and conversations through `@ccs/fixtures`, and signs a token per device. */
  async seed(shape: PopulationShape): Promise<LoadDevice[]> {
    const population = await seedPopulation(this.database.db, shape);
    // Statistics as a database in service has them: freshly filled tables without them can
    // get plans that scan (the first autovacuum would fix it in the middle of a run).
    await this.database.pool.query('ANALYZE');
    const sendersLeft = new Map<string, number>();
    const devices: LoadDevice[] = [];
    for (const device of population.devices) {
      const left = sendersLeft.get(device.conversationId) ?? shape.sendersPerConversation;
      sendersLeft.set(device.conversationId, left - 1);
      devices.push({
        token: await signDeviceToken(
          { userId: device.userId, deviceId: device.id },
          { secret: this.jwtSecret, expiresIn: '2h' },
        ),
        userId: device.userId,
        deviceId: device.id,
        conversationId: device.conversationId,
        stream: device.stream,
        sender: left > 0,
      });
    }
    return devices;
  }

  /** Every stream's head in the database: what CCS owes the subscribers of it. */
  async heads(): Promise<Map<string, number>> {
    const { rows } = await this.database.pool.query<{ stream: string; head: string }>(
      'SELECT stream, head FROM stream_heads',
    );
    return new Map(rows.map((row) => [row.stream, Number(row.head)]));
  }

  async close(): Promise<void> {
    await this.database.drop();
  }
}
