import type { FloodRun } from './flood-scenario.js';
import type { SlowRun } from './slow-scenario.js';

/** One measurement with its baseline and abuse/baseline. */
export interface Compared {
  readonly baseline: number | null;
  readonly abuse: number | null;
  /** abuse ÷ baseline (2 decimals); null when either is missing or the baseline is 0. */
  readonly ratio: number | null;
}

export function compared(baseline: number | null, abuse: number | null): Compared {
  const ratio =
    baseline === null || abuse === null || baseline === 0
      ? null
      : Math.round((abuse / baseline) * 100) / 100;
  return { baseline, abuse, ratio };
}

/** A pair of runs of one scenario, or why one failed. */
export interface ScenarioPair<Run> {
  readonly baseline: Run | { readonly error: string };
  readonly abuse: Run | { readonly error: string };
}

export function ok<Run extends object>(run: Run | { readonly error: string }): Run | undefined {
  return 'error' in run ? undefined : run;
}

export function compareFlood(baseline: FloodRun, abuse: FloodRun): Record<string, Compared> {
  const both = (pick: (run: FloodRun) => number | null): Compared =>
    compared(pick(baseline), pick(abuse));
  return {
    connectP50Ms: both((run) => run.cycles.connect.p50Ms),
    connectP99Ms: both((run) => run.cycles.connect.p99Ms),
    subscribeP50Ms: both((run) => run.cycles.subscribe.p50Ms),
    subscribeP99Ms: both((run) => run.cycles.subscribe.p99Ms),
    cyclesCompleted: both((run) => run.cycles.completed),
    cycleFailures: both((run) => sum(run.cycles.failures)),
    bystanderDeliveryP50Ms: both((run) => run.bystander.latency.p50Ms),
    bystanderDeliveryP99Ms: both((run) => run.bystander.latency.p99Ms),
    bystanderMissing: both((run) => run.bystander.delivery.missing),
    readyzNon200: both((run) => run.readyz.non200),
    readyzP99Ms: both((run) => run.readyz.latency.p99Ms),
    eventLoopLagP99Ms: both((run) => run.eventLoopLag.p99Ms),
    eventLoopLagMaxMs: both((run) => run.eventLoopLag.maxMs),
    serverCpuCores: both((run) => run.serverCpuCores),
    relayReadsPerSec: both((run) => run.relayReadsPerSec),
    peakRssMiB: both((run) => run.rss.peakMiB),
  };
}

export function compareSlow(baseline: SlowRun, abuse: SlowRun): Record<string, Compared> {
  const both = (pick: (run: SlowRun) => number | null): Compared =>
    compared(pick(baseline), pick(abuse));
  return {
    peakRssMiB: both((run) => run.rss.peakMiB),
    finalRssMiB: both((run) => run.rss.finalMiB),
    normalDeliveryP50Ms: both((run) => run.deliveryLatency.p50Ms),
    normalDeliveryP99Ms: both((run) => run.deliveryLatency.p99Ms),
    normalDeliveryMaxMs: both((run) => run.deliveryLatency.maxMs),
    normalReceived: both((run) => run.normalSubscribers.reduce((n, s) => n + s.received, 0)),
    normalMissing: both((run) => run.normalSubscribers.reduce((n, s) => n + s.missing, 0)),
    writesCommitted: both((run) => run.writer.committed),
    droppedSlowConsumers: both((run) => run.crowd.droppedSlowConsumer),
    eventLoopLagP99Ms: both((run) => run.eventLoopLag.p99Ms),
    eventLoopLagMaxMs: both((run) => run.eventLoopLag.maxMs),
    serverCpuCores: both((run) => run.serverCpuCores),
    relayReadsPerSec: both((run) => run.relayReadsPerSec),
    readyzNon200: both((run) => run.readyz.non200),
  };
}

/** Cores used by processes outside the bench (other builds, tests) that make a run noisy. */
const NOISY_OTHER_CORES = 0.3;

/** Server memory this much above the baseline is worth a look. */
const LARGE_RSS_RATIO = 1.5;

function sum(counts: Readonly<Record<string, number>>): number {
  return Object.values(counts).reduce((total, n) => total + n, 0);
}

/** What a reader should look at first: crashes, lost messages, failed probes, large ratios. */
export function findings(
  flood: ScenarioPair<FloodRun> | undefined,
  slow: ScenarioPair<SlowRun> | undefined,
  options: { readonly crowdSockets: number; readonly largeRatio: number },
): string[] {
  const found: string[] = [];
  const runs: [string, (FloodRun | SlowRun | { readonly error: string }) | undefined][] = [
    ['flood baseline', flood?.baseline],
    ['flood abuse', flood?.abuse],
    ['slow-consumer baseline', slow?.baseline],
    ['slow-consumer abuse', slow?.abuse],
  ];
  for (const [name, run] of runs) {
    if (!run) continue;
    if ('error' in run) {
      found.push(`${name}: run failed: ${run.error}`);
      continue;
    }
    if (run.server.exitedEarly) {
      found.push(`${name}: the server process exited during the run (${run.server.exitedEarly})`);
    }
    if (run.cpuCores.others > NOISY_OTHER_CORES) {
      found.push(
        `${name}: processes other than the bench's used ${run.cpuCores.others} of the machine's cores during the run; treat its numbers as noisy`,
      );
    }
    if (run.server.errorLines > 0) {
      found.push(
        `${name}: the server logged ${run.server.errorLines} error lines, e.g. ${run.server.samples[0] ?? ''}`,
      );
    }
  }
  const floodBase = flood && ok(flood.baseline);
  const floodAbuse = flood && ok(flood.abuse);
  if (floodAbuse) {
    if (floodAbuse.readyz.non200 > 0) {
      found.push(
        `flood: /readyz was not 200 in ${floodAbuse.readyz.non200} of ${floodAbuse.readyz.polls} polls (first: ${floodAbuse.readyz.firstFailure})`,
      );
    }
    if (floodAbuse.cycles.completed < floodAbuse.cycles.planned) {
      found.push(
        `flood: the other user completed ${floodAbuse.cycles.completed} of ${floodAbuse.cycles.planned} connect/subscribe cycles (failures ${JSON.stringify(floodAbuse.cycles.failures)})`,
      );
    }
    if (!floodAbuse.bystander.delivery.complete) {
      found.push(
        `flood: the bystander subscriber did not get every message exactly once: ${JSON.stringify(floodAbuse.bystander.delivery)}`,
      );
    }
    const f = floodAbuse.flood;
    if (f && f.acks.ok !== floodAbuse.floodRowsWritten) {
      found.push(
        `flood: ${f.acks.ok} sends were acked ok but ${floodAbuse.floodRowsWritten} rows were written`,
      );
    }
    if (f && f.stoppedBy === 'maxSends') {
      found.push(`flood: the flooder hit --flood-max-sends before the cycles ended`);
    }
    if (f && f.disconnects > 0) {
      found.push(
        `flood: the server dropped the flooder ${f.disconnects} times (${f.disconnectReason}${f.sessionEnded ? `, session_ended ${f.sessionEnded}` : ''}) and refused ${f.connectsRefused} of its handshakes`,
      );
    }
  }
  if (floodBase && floodAbuse) {
    for (const [key, value] of Object.entries(compareFlood(floodBase, floodAbuse))) {
      if (/Ms$/.test(key) && value.ratio !== null && value.ratio >= options.largeRatio) {
        found.push(`flood: ${key} ${value.abuse} vs ${value.baseline} baseline (×${value.ratio})`);
      }
    }
  }
  const slowBase = slow && ok(slow.baseline);
  const slowAbuse = slow && ok(slow.abuse);
  for (const [name, run] of [
    ['baseline', slowBase],
    ['abuse', slowAbuse],
  ] as const) {
    if (run && !run.allNormalComplete) {
      found.push(
        `slow consumers (${name}): a normal subscriber did not get every message exactly once: ${JSON.stringify(run.normalSubscribers)}`,
      );
    }
    if (run && run.writer.errors > 0) {
      found.push(
        `slow consumers (${name}): ${run.writer.errors} writes failed (${run.writer.firstError})`,
      );
    }
  }
  if (slowAbuse && slowAbuse.crowd.droppedSlowConsumer < options.crowdSockets) {
    found.push(
      `slow consumers: ${slowAbuse.crowd.droppedSlowConsumer} of ${options.crowdSockets} paused sockets were dropped as slow consumers`,
    );
  }
  if (slowBase && slowBase.crowd.droppedSlowConsumer > 0) {
    found.push(
      `slow consumers (baseline): ${slowBase.crowd.droppedSlowConsumer} sockets that were reading were dropped as slow consumers`,
    );
  }
  if (slowBase && slowAbuse) {
    for (const [key, value] of Object.entries(compareSlow(slowBase, slowAbuse))) {
      const threshold = /Ms$/.test(key)
        ? options.largeRatio
        : /RssMiB$/.test(key)
          ? LARGE_RSS_RATIO
          : Infinity;
      if (value.ratio !== null && value.ratio >= threshold) {
        found.push(
          `slow consumers: ${key} ${value.abuse} vs ${value.baseline} baseline (×${value.ratio})`,
        );
      }
    }
  }
  return found;
}
