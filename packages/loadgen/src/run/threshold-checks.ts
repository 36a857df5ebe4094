import type {
  ScenarioResult,
  TargetName,
  TargetRun,
  ThresholdCheck,
} from '../report/load-report.js';

/** Limits a run is held to (`--max-p99 25` …); unset ones are not checked. */
export interface Thresholds {
  /** Send → receive p99 of every CCS run, ms. */
  readonly maxP99Ms?: number;
  /** Connect time p99 of every CCS run, ms. */
  readonly maxConnectP99Ms?: number;
  /** Connects per second of every CCS run that connected clients. */
  readonly minConnectsPerSec?: number;
  /** Resume time p99 of every CCS run that dropped clients, ms. */
  readonly maxResumeP99Ms?: number;
}

/** One check of `actual` against `limit`. */
export function check(
  scenario: string,
  target: TargetName,
  metric: string,
  actual: number,
  comparator: '<=' | '>=',
  limit: number,
): ThresholdCheck {
  const passed = comparator === '<=' ? actual <= limit : actual >= limit;
  return { scenario, target, metric, actual, limit, comparator, passed };
}

/** What CCS promises in every run: nothing lost, duplicated or out of order, every resume done. */
function guarantees(scenario: string, run: TargetRun): ThresholdCheck[] {
  const checks = [
    check(scenario, run.target, 'delivery.lost', run.delivery.lost, '<=', 0),
    check(scenario, run.target, 'delivery.duplicated', run.delivery.duplicated, '<=', 0),
    check(scenario, run.target, 'delivery.outOfOrder', run.delivery.outOfOrder, '<=', 0),
  ];
  if (run.resume) {
    checks.push(
      check(scenario, run.target, 'resume.resumed', run.resume.resumed, '>=', run.resume.dropped),
    );
  }
  return checks;
}

/** The checks of `results`: CCS's guarantees in every scenario, then the given thresholds. */
export function thresholdChecks(
  results: readonly ScenarioResult[],
  thresholds: Thresholds,
): ThresholdCheck[] {
  const checks: ThresholdCheck[] = [];
  for (const result of results) {
    for (const run of result.runs) {
      if (run.target !== 'ccs') continue;
      const name = result.scenario;
      checks.push(...guarantees(name, run));
      if (thresholds.maxP99Ms !== undefined && run.sendToReceive) {
        checks.push(
          check(
            name,
            run.target,
            'sendToReceive.p99Ms',
            run.sendToReceive.p99Ms,
            '<=',
            thresholds.maxP99Ms,
          ),
        );
      }
      if (thresholds.maxConnectP99Ms !== undefined && run.connections.succeeded > 0) {
        checks.push(
          check(
            name,
            run.target,
            'connections.connectTime.p99Ms',
            run.connections.connectTime.p99Ms,
            '<=',
            thresholds.maxConnectP99Ms,
          ),
        );
      }
      if (thresholds.minConnectsPerSec !== undefined && run.connections.succeeded > 0) {
        checks.push(
          check(
            name,
            run.target,
            'connections.perSec',
            run.connections.perSec,
            '>=',
            thresholds.minConnectsPerSec,
          ),
        );
      }
      if (thresholds.maxResumeP99Ms !== undefined && run.resume) {
        checks.push(
          check(
            name,
            run.target,
            'resume.time.p99Ms',
            run.resume.time.p99Ms,
            '<=',
            thresholds.maxResumeP99Ms,
          ),
        );
      }
    }
  }
  return checks;
}
