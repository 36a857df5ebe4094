import { EventEmitter } from 'node:events';
import pg from 'pg';

/** The channel the capture trigger notifies on. */
export const CHANGE_CHANNEL = 'ccs_changes';

/** Options of {@link ChangeListener}. */
export interface ChangeListenerOptions {
  /** PostgreSQL connection string. */
  readonly url: string;
  /** Delay before reconnecting a lost LISTEN connection. @default 500 */
  readonly reconnectDelayMs?: number;
}

/** A wake-up hint: `stream` has a change up to at least `seq`. */
export interface ChangeHint {
  readonly stream: string;
  readonly seq: number;
}

interface ChangeListenerEvents {
  hint: [ChangeHint];
  /** LISTEN is (again) active: changes may have been missed while it was not. */
  listening: [];
  /** The LISTEN connection was lost; it reconnects by itself. */
  lost: [Error];
}

/**
 * Holds one dedicated connection with `LISTEN ccs_changes` and emits its hints. Hints are never
 * trusted for data: after `listening` (first connect or reconnect) a consumer must re-read what
 * it tracks, since notifications sent while disconnected are gone.
 */
export class ChangeListener extends EventEmitter<ChangeListenerEvents> {
  private client: pg.Client | undefined;
  private stopped = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private readonly reconnectDelayMs: number;

  constructor(private readonly options: ChangeListenerOptions) {
    super();
    this.reconnectDelayMs = options.reconnectDelayMs ?? 500;
  }

  /** Connects and listens; resolves once LISTEN is active. */
  async start(): Promise<void> {
    this.stopped = false;
    await this.connect();
  }

  /** Whether LISTEN is currently active. */
  get isListening(): boolean {
    return this.client !== undefined;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({
      connectionString: this.options.url,
      application_name: 'ccs-change-listener',
    });
    client.on('notification', (message) => {
      if (message.channel !== CHANGE_CHANNEL || !message.payload) return;
      const space = message.payload.lastIndexOf(' ');
      const seq = Number(message.payload.slice(space + 1));
      if (space > 0 && Number.isSafeInteger(seq)) {
        this.emit('hint', { stream: message.payload.slice(0, space), seq });
      }
    });
    client.on('error', (error) => this.onLost(client, error));
    client.on('end', () => this.onLost(client, new Error('LISTEN connection ended')));
    await client.connect();
    await client.query(`LISTEN ${CHANGE_CHANNEL}`);
    if (this.stopped) {
      await client.end();
      return;
    }
    this.client = client;
    this.emit('listening');
  }

  private onLost(client: pg.Client, error: Error): void {
    if (this.client !== client) return;
    this.client = undefined;
    client.end().catch(() => undefined);
    if (this.listenerCount('lost') > 0) this.emit('lost', error);
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => {
      this.connect().catch(() => this.scheduleReconnect());
    }, this.reconnectDelayMs);
  }
}
