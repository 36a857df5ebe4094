import type { ReadinessCheck } from './readiness-check.js';

/**
 * Ready when the process logs a line: by default sync-server's pino line
 * `{"msg":"listening","url":…}`, whose `url` is the base URL (so `PORT=0` works). `match` may
 * take any line and return the URL, or undefined to keep waiting.
 */
export function logLineReadiness(
  match: (line: string) => string | undefined = listeningUrl,
  description = 'a "listening" log line with a url',
): ReadinessCheck {
  return {
    description,
    needsPort: false,
    ready: (process) =>
      new Promise((resolve, reject) => {
        process.onLine((line) => {
          const url = match(line);
          if (url) resolve(url);
        });
        process.signal.addEventListener('abort', () => reject(new Error('start abandoned')), {
          once: true,
        });
      }),
  };
}

/** The `url` of a pino JSON line whose `msg` is `listening`. */
function listeningUrl(line: string): string | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const entry = JSON.parse(line) as { msg?: unknown; url?: unknown };
    return entry.msg === 'listening' && typeof entry.url === 'string' ? entry.url : undefined;
  } catch {
    return undefined;
  }
}
