import { pauseUnlessAborted, portOf, type ReadinessCheck } from './readiness-check.js';

/**
 * Ready when `GET http://127.0.0.1:<PORT><path>` answers 2xx (e.g. `/readyz`: the database and
 * Redis answer too), polled every `intervalMs`.
 */
export function httpProbeReadiness(path = '/healthz', intervalMs = 50): ReadinessCheck {
  return {
    description: `GET ${path} answering 2xx`,
    needsPort: true,
    async ready(process) {
      const url = `http://127.0.0.1:${portOf(process)}`;
      while (!process.signal.aborted) {
        try {
          const response = await fetch(`${url}${path}`, { signal: AbortSignal.timeout(1000) });
          await response.body?.cancel();
          if (response.ok) return url;
        } catch {
          // not listening yet
        }
        await pauseUnlessAborted(intervalMs, process.signal);
      }
      return url;
    },
  };
}
