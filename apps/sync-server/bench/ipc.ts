// Messages between the bench runner and its child processes (flooder, crowd), over the IPC channel.

/** What the flooder child is started with (JSON in argv[2]). */
export interface FloodConfig {
  readonly url: string;
  readonly token: string;
  readonly conversationId: string;
  /** Hard limits: the flood stops at whichever comes first (or when told to stop). */
  readonly maxSends: number;
  readonly maxMs: number;
  /** Sends emitted and not yet acknowledged, at most (pipelined; the flooder never waits for one ack). */
  readonly window: number;
  readonly bodyChars: number;
  /** How long to wait for the outstanding acks once the flood stops. */
  readonly drainMs: number;
}

/** What the flooder saw. */
export interface FloodResult {
  readonly sent: number;
  readonly acks: {
    readonly ok: number;
    readonly rateLimited: number;
    /** Other error codes, by code. */
    readonly other: Readonly<Record<string, number>>;
    /** Sends that had no ack when the flooder gave up waiting. */
    readonly unanswered: number;
  };
  /** From `go` to the last send. */
  readonly floodMs: number;
  readonly sendsPerSec: number;
  readonly acksPerSec: number;
  /** Why the flood stopped. */
  readonly stoppedBy: 'maxSends' | 'maxMs' | 'told';
  /** socket.io's latest disconnect reason, when the server (or the transport) dropped the flooder. */
  readonly disconnectReason: string | null;
  readonly sessionEnded: string | null;
  /** How often the server dropped the flooder (it connects again at once each time). */
  readonly disconnects: number;
  /** Handshakes the server refused while the flooder tried to come back. */
  readonly connectsRefused: number;
  /** CPU the flooder process used from `go` to its report, in cores. */
  readonly cpuCores: number;
}

/** What the crowd child is started with (JSON in argv[2]). */
export interface CrowdConfig {
  readonly url: string;
  readonly tokens: readonly string[];
  readonly stream: string;
  /** `pause`: stop reading right after the subscribe ack (slow consumers); `read`: read everything. */
  readonly mode: 'pause' | 'read';
  /** After `finish`, how long the sockets read (resumed) before they report. */
  readonly finishReadMs: number;
}

/** What one crowd socket saw. */
export interface CrowdSocketResult {
  readonly subscribed: boolean;
  readonly head: number | null;
  /** Changes received (of `changes` frames), before and after the resume. */
  readonly changes: number;
  readonly bytes: number;
  readonly lastSeq: number;
  /** `session_ended` reason, if the server sent one. */
  readonly sessionEnded: string | null;
  readonly resyncRequired: readonly string[];
  /** Whether the server disconnected the socket (socket.io DISCONNECT or the WebSocket closed). */
  readonly disconnectedByServer: boolean;
  readonly closeCode: number | null;
}

export type ParentMessage =
  { readonly kind: 'go' } | { readonly kind: 'stop' } | { readonly kind: 'finish' };

export type ChildMessage =
  | { readonly kind: 'ready'; readonly connected: number; readonly errors: readonly string[] }
  | { readonly kind: 'flood-result'; readonly result: FloodResult }
  | {
      readonly kind: 'crowd-result';
      readonly sockets: readonly CrowdSocketResult[];
      /** CPU the crowd process used from `ready` to `finish`, in cores. */
      readonly cpuCores: number;
    }
  | { readonly kind: 'failed'; readonly message: string };
