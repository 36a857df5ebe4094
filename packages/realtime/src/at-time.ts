/** Longest delay `setTimeout` takes (about 24.8 days); longer ones fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Calls `task` at `epochMs` (however far away; never synchronously), unless cancelled first. */
export function atTime(epochMs: number, task: () => void): { cancel(): void } {
  let timer: NodeJS.Timeout;
  const arm = (): void => {
    const delay = epochMs - Date.now();
    timer = setTimeout(delay <= 0 ? task : arm, Math.max(0, Math.min(delay, MAX_TIMER_MS)));
  };
  arm();
  return { cancel: () => clearTimeout(timer) };
}
