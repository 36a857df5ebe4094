import { mkdir, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';

/** What one fault test measured, written to `reports/faults/<fault>.json`. */
export interface FaultReport {
  readonly fault: string;
  /** What it ran against: the suite's own stack, or an operator's (their file's path). */
  readonly target: string;
  /** Messages sent (and acknowledged) in the test, and how many while the fault lasted. */
  readonly messages: number;
  readonly duringFault: number;
  /** Devices that had to receive every message once and in order (they did, or the test failed). */
  readonly devices: number;
  /** Times to recover, in ms, by what recovered (e.g. `firstAckAfterRestart`). */
  readonly recoveryMs: Readonly<Record<string, number>>;
  readonly lost: 0;
  readonly duplicated: 0;
}

/** `reports/faults` of the workspace, or `CCS_FAULT_REPORTS_DIR`. */
const reportsDir =
  process.env['CCS_FAULT_REPORTS_DIR'] ??
  resolve(import.meta.dirname, '../../../../reports/faults');

/** Prints the report's line and writes its JSON, one file per fault (test files run in parallel). */
export async function reportFault(report: FaultReport): Promise<void> {
  const times = Object.entries(report.recoveryMs)
    .map(([what, ms]) => `${what} ${ms} ms`)
    .join(', ');
  console.info(
    `[fault ${report.fault}] on ${report.target}: ${report.messages} messages (${report.duringFault} during the fault) on ${report.devices} devices: 0 lost, 0 doubled; ${times}`,
  );
  await mkdir(reportsDir, { recursive: true });
  await writeFile(
    resolve(reportsDir, `${report.fault}.json`),
    `${JSON.stringify({ ...report, at: new Date().toISOString() }, null, 2)}\n`,
  );
}
