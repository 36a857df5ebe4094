import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import {
  isChangeOf,
  type ChangeEvent,
  type MessageData,
  type SyncFileData,
  type WorkspaceSnapshot,
} from '@ccs/protocol';

/** A message as a device shows it. */
export interface MessageView {
  readonly id: string;
  readonly seq: number;
  readonly body: string;
  readonly deleted: boolean;
}

/** A live file of a workspace as a device shows it. */
export interface FileView {
  readonly id: string;
  readonly path: string;
  readonly version: number;
  readonly contentHash: string;
}

export const messageView = (message: MessageData): MessageView => ({
  id: message.id,
  seq: message.seq,
  body: message.body,
  deleted: message.deletedAt !== null,
});

export const fileView = (file: SyncFileData): FileView => ({
  id: file.id,
  path: file.path,
  version: file.version,
  contentHash: file.contentHash,
});

/** Sorted by id, so that two views of the same state compare equal. */
export const byId = <T extends { readonly id: string }>(items: Iterable<T>): T[] =>
  [...items].sort((a, b) => a.id.localeCompare(b.id));

/**
 * What a device knows, built only from the snapshots it read and the changes it received: the
 * minimal client a test needs to say "the device shows the right state". Changes are applied in
 * the order given; a duplicate is harmless here (delivery is checked on its own).
 */
export class DeviceState {
  readonly messages = new Map<string, MessageView>();
  readonly files = new Map<string, FileView & { readonly workspaceId: string }>();
  /** Conversations and workspaces the user is a member of, from the user's own stream. */
  readonly conversations = new Set<string>();
  readonly workspaces = new Set<string>();

  apply(change: ChangeEvent): void {
    if (isChangeOf(change, 'message')) {
      if (change.kind === 'message.deleted') this.messages.delete(change.data.id);
      else this.messages.set(change.data.id, messageView(change.data));
    } else if (isChangeOf(change, 'sync_file')) {
      if (change.kind === 'sync_file.deleted' || change.data.deleted) {
        this.files.delete(change.data.id);
      } else {
        this.files.set(change.data.id, {
          ...fileView(change.data),
          workspaceId: change.data.workspaceId,
        });
      }
    } else if (change.stream.startsWith('user:')) {
      if (isChangeOf(change, 'conversation_member')) {
        if (change.kind === 'conversation_member.deleted') {
          this.conversations.delete(change.data.conversationId);
        } else this.conversations.add(change.data.conversationId);
      } else if (isChangeOf(change, 'workspace_member')) {
        if (change.kind === 'workspace_member.deleted') {
          this.workspaces.delete(change.data.workspaceId);
        } else this.workspaces.add(change.data.workspaceId);
      }
    }
  }

  /** Replaces what the device knew of a workspace's files with a snapshot of it. */
  loadWorkspace(snapshot: WorkspaceSnapshot): void {
    for (const [id, file] of this.files) {
      if (file.workspaceId === snapshot.workspace.id) this.files.delete(id);
    }
    for (const file of snapshot.files) {
      this.files.set(file.id, { ...fileView(file), workspaceId: file.workspaceId });
    }
  }

  messageList(): MessageView[] {
    return byId(this.messages.values());
  }

  fileList(): FileView[] {
    return byId([...this.files.values()].map(({ workspaceId: _, ...file }) => file));
  }
}

interface Connection {
  readonly device: Socket;
  readonly server: Socket;
  dropped: boolean;
}

/**
 * A device's network: a TCP relay on loopback between the device and the server. `drop()`
 * takes it away the way a lost Wi-Fi does: the device notices (its connection is closed), the
 * server does not (its side stays open and hears nothing more, while everything it writes is
 * lost) until its heartbeat gives up. Connections opened after the drop go through again;
 * `cut()` keeps them from going through until `restore()`, and `retarget()` points new ones at
 * another node.
 */
export class NetworkLink {
  private readonly connections = new Set<Connection>();
  private readonly lostListeners = new Set<() => void>();
  /** Bytes the server wrote into dropped connections: frames the device never got. */
  lostBytes = 0;

  private readonly relay = createServer((device) => {
    if (this.offline) {
      device.destroy();
      return;
    }
    const server = connect(this.target.port, this.target.host);
    const connection: Connection = { device, server, dropped: false };
    this.connections.add(connection);
    device.on('data', (chunk) => {
      if (!connection.dropped) server.write(chunk);
    });
    server.on('data', (chunk: Buffer) => {
      if (!connection.dropped) {
        device.write(chunk);
        return;
      }
      this.lostBytes += chunk.length;
      for (const listener of this.lostListeners) listener();
    });
    device.on('close', () => {
      if (!connection.dropped) server.destroy();
    });
    server.on('close', () => {
      device.destroy();
      this.connections.delete(connection);
    });
    device.on('error', () => undefined);
    server.on('error', () => undefined);
  });

  /** While true, connections are refused (closed at once): see {@link cut}. */
  private offline = false;

  private constructor(private target: { readonly host: string; readonly port: number }) {}

  /** A link to the server at `url` (http://host:port). */
  static async open(url: string): Promise<NetworkLink> {
    const { hostname, port } = new URL(url);
    const link = new NetworkLink({ host: hostname, port: Number(port) });
    link.relay.listen(0, '127.0.0.1');
    await once(link.relay, 'listening');
    return link;
  }

  /** Where the device connects instead of the server. */
  get url(): string {
    return `http://127.0.0.1:${(this.relay.address() as AddressInfo).port}`;
  }

  /** Drops every open connection: the device's side closes, the server's side goes silent. */
  drop(): void {
    for (const connection of this.connections) {
      connection.dropped = true;
      connection.device.destroy();
    }
  }

  /**
   * Takes the network away until {@link restore}: open connections drop as with `drop()`, and
   * every new one is closed at once, so the device stays offline however often it retries.
   */
  cut(): void {
    this.offline = true;
    this.drop();
  }

  /** Gives the network back: the next connection goes through. */
  restore(): void {
    this.offline = false;
  }

  /**
   * Sends new connections to the server at `url` (http://host:port) from now on, as a load
   * balancer does when a node is gone; open connections stay where they are.
   */
  retarget(url: string): void {
    const { hostname, port } = new URL(url);
    this.target = { host: hostname, port: Number(port) };
  }

  /** Resolves once the server has written more than `moreThan` bytes into dropped connections. */
  waitForLostBytes(moreThan = 0, timeoutMs = 5000): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (this.lostBytes <= moreThan) return;
        clearTimeout(timer);
        this.lostListeners.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.lostListeners.delete(check);
        reject(new Error(`the server wrote only ${this.lostBytes} bytes into dropped connections`));
      }, timeoutMs);
      this.lostListeners.add(check);
      check();
    });
  }

  /** Closes every connection (the server now sees the dropped ones end) and the relay. */
  async close(): Promise<void> {
    const closing = once(this.relay, 'close');
    this.relay.close();
    for (const { device, server } of this.connections) {
      device.destroy();
      server.destroy();
    }
    await closing;
  }
}
