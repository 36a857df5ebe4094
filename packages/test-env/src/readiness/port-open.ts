import { connect } from 'node:net';
import { pauseUnlessAborted, portOf, type ReadinessCheck } from './readiness-check.js';

/** Ready when a TCP connection to `127.0.0.1:<PORT>` succeeds, polled every `intervalMs`. */
export function portOpenReadiness(intervalMs = 50): ReadinessCheck {
  return {
    description: 'its port accepting connections',
    needsPort: true,
    async ready(process) {
      const port = portOf(process);
      while (!process.signal.aborted) {
        if (await accepts(port)) return `http://127.0.0.1:${port}`;
        await pauseUnlessAborted(intervalMs, process.signal);
      }
      return `http://127.0.0.1:${port}`;
    },
  };
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => {
      socket.destroy();
      resolve(false);
    });
  });
}
