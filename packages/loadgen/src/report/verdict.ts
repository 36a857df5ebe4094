/**
 * The overall verdict of a report, as both renderers state it: the report's own `passed`, and
 * failed whenever a check failed, whatever `passed` says.
 */
import { plural } from './format.js';
import type { LoadReport, TargetRun, ThresholdCheck } from './load-report.js';

/** The verdict and what made it. */
export interface Verdict {
  readonly passed: boolean;
  readonly failedChecks: readonly ThresholdCheck[];
  /** CCS runs that lost, duplicated or reordered a delivery (fail the report on their own). */
  readonly faultyCcsRuns: readonly { readonly scenario: string; readonly run: TargetRun }[];
}

/** Judges `report`. */
export function verdictOf(report: LoadReport): Verdict {
  const failedChecks = report.checks.filter((check) => !check.passed);
  const faultyCcsRuns = report.scenarios.flatMap((scenario) =>
    scenario.runs
      .filter(
        (run) =>
          run.target === 'ccs' &&
          run.delivery.lost + run.delivery.duplicated + run.delivery.outOfOrder > 0,
      )
      .map((run) => ({ scenario: scenario.scenario, run })),
  );
  return {
    passed: report.passed && failedChecks.length === 0,
    failedChecks,
    faultyCcsRuns,
  };
}

/** `PASSED`, or `FAILED (2 checks)` and what else failed it. */
export function verdictLine(verdict: Verdict): string {
  if (verdict.passed) return 'PASSED';
  const reasons = [plural(verdict.failedChecks.length, 'check')];
  if (verdict.faultyCcsRuns.length > 0) {
    reasons.push(
      `${plural(verdict.faultyCcsRuns.length, 'CCS run')} lost, duplicated or reordered deliveries`,
    );
  } else if (verdict.failedChecks.length === 0) {
    reasons.push('the report is marked failed');
  }
  return `FAILED (${reasons.join('; ')})`;
}
