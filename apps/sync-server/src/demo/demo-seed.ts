import { insertConversation, insertDevice, insertUser, type Database } from '@ccs/db';
import { signDeviceToken, streamName, type StreamName } from '@ccs/protocol';

/** A demo device: who it is and the token it signs in with. */
export interface DemoDevice {
  readonly label: string;
  readonly token: string;
}

export interface DemoData {
  readonly conversationId: string;
  readonly stream: StreamName;
  readonly devices: readonly DemoDevice[];
}

/** Seeds two users, three devices (alice: laptop and phone; bob: phone) and one conversation. */
export async function seedDemo(db: Database, jwtSecret: string): Promise<DemoData> {
  const [alice, bob] = await Promise.all([
    insertUser(db, { name: 'alice' }),
    insertUser(db, { name: 'bob' }),
  ]);
  const owners = [
    { user: alice, name: 'laptop' },
    { user: alice, name: 'phone' },
    { user: bob, name: 'phone' },
  ];
  const devices = await Promise.all(
    owners.map(async ({ user, name }) => {
      const device = await insertDevice(db, { userId: user.id, name });
      const token = await signDeviceToken(
        { userId: user.id, deviceId: device.id },
        { secret: jwtSecret },
      );
      return { label: `${user.name}/${name}`, token };
    }),
  );
  const conversation = await insertConversation(db, { title: 'CCS demo' }, [alice.id, bob.id]);
  return {
    conversationId: conversation.id,
    stream: streamName('conversation', conversation.id),
    devices,
  };
}
