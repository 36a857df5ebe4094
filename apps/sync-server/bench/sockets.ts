import type { ClientToServerEvents, ServerToClientEvents, StreamName } from '@ccs/protocol';
import { io, type Socket } from 'socket.io-client';

export type CcsSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/** A failed connect or subscribe, with the server's error code when it gave one. */
export class StepError extends Error {
  constructor(
    readonly step: 'connect' | 'subscribe',
    readonly code: string,
    message: string,
  ) {
    super(`${step}: ${code}: ${message}`);
  }
}

/** Opens a fresh socket.io-client socket (WebSocket only, no reconnection) and waits for `connect`. */
export function connectSocket(url: string, token: string, timeoutMs: number): Promise<CcsSocket> {
  const socket: CcsSocket = io(url, {
    transports: ['websocket'],
    auth: { token },
    reconnection: false,
    forceNew: true,
    timeout: timeoutMs,
  });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => {
      socket.off('connect_error');
      resolve(socket);
    });
    socket.once('connect_error', (error: Error & { data?: { code?: unknown } }) => {
      socket.disconnect();
      const code = typeof error.data?.code === 'string' ? error.data.code : 'connect_error';
      reject(new StepError('connect', code, error.message));
    });
  });
}

/** Subscribes and resolves with the stream's head; a refusal or timeout throws a {@link StepError}. */
export async function subscribe(
  socket: CcsSocket,
  stream: StreamName,
  timeoutMs: number,
): Promise<number> {
  let ack;
  try {
    ack = await socket.timeout(timeoutMs).emitWithAck('subscribe', { stream });
  } catch (error) {
    throw new StepError('subscribe', 'timeout', (error as Error).message);
  }
  if (!ack.ok) throw new StepError('subscribe', ack.error.code, ack.error.message);
  return ack.head;
}
