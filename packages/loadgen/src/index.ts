// @ccs/loadgen: load scenarios against CCS and its peers, measured in the same run, and the
// reports (console, JSON, HTML). The CLI (`ccs-load`) is src/cli.ts; the delivery bench that
// `nx run realtime:bench` runs is src/delivery-bench/.
export type * from './report/load-report.js';
export { TARGET_NAMES } from './report/load-report.js';
export { renderHtmlReport } from './report/html-report.js';
export { renderConsoleReport } from './report/console-report.js';
export { SCENARIOS } from './scenarios/index.js';
export type { Scenario, ScenarioRun, ScenarioSettings } from './scenarios/scenario.js';
export { runScenario, settingsOf, type LoadEnvironment } from './run/run-scenario.js';
export { LoadProgress } from './run/load-progress.js';
export { thresholdChecks, type Thresholds } from './run/threshold-checks.js';
export { BENCH_SUITE, suiteChecks, type SuiteEntry } from './run/bench-suite.js';
export { createLoadCommand } from './run/load-command.js';
