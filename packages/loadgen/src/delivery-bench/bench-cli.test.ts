import { DEFAULT_RECEIVED_REPORT_MS } from '@ccs/protocol';
import { DEFAULT_TRACE_SAMPLE_RATIO } from '@ccs/server';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseBenchOptions } from './bench-cli.js';

const workspaceRoot = fileURLToPath(new URL('../../../../', import.meta.url));
const parse = (args: readonly string[], cwd = '/somewhere/else') =>
  parseBenchOptions(['node', 'realtime-bench', ...args], cwd);

describe('parseBenchOptions', () => {
  it('writes bench-results/realtime.json at the workspace root by default, whatever the cwd', () => {
    expect(parse([]).out).toBe(path.join(workspaceRoot, 'bench-results/realtime.json'));
    expect(parse([], workspaceRoot).out).toBe(
      path.join(workspaceRoot, 'bench-results/realtime.json'),
    );
  });

  it('takes relative paths from the directory it was run from', () => {
    const options = parse(['--out', 'out/r.json', '--setup-sql', 'variant.sql'], '/runs');
    expect(options.out).toBe('/runs/out/r.json');
    expect(options.setupSql).toBe('/runs/variant.sql');
  });

  it('shortens every phase with --quick, unless a length is given', () => {
    expect(parse([])).toMatchObject({ quick: false, phaseMs: 10_000, stepMs: 4000, repeats: 3 });
    expect(parse(['--quick'])).toMatchObject({
      quick: true,
      phaseMs: 3000,
      stepMs: 2000,
      repeats: 1,
      ceilingMs: 2000,
      idleMs: 3000,
      maxSteps: 5,
    });
    expect(parse(['--quick', '--phase-seconds', '7']).phaseMs).toBe(7000);
  });

  it('passes only the relay settings given', () => {
    expect(parse([]).relay).toEqual({});
    expect(parse(['--relay-busy-tick-ms', '2', '--relay-batch-size', '500']).relay).toEqual({
      busyTickMs: 2,
      batchSize: 500,
    });
  });

  it('runs the variants with the SDK report interval and three overhead rounds by default', () => {
    expect(parse([])).toMatchObject({
      ackIntervalMs: DEFAULT_RECEIVED_REPORT_MS,
      traceSampleRatio: DEFAULT_TRACE_SAMPLE_RATIO,
      overheadRounds: 3,
      gatewayMetrics: true,
    });
    expect(parse(['--quick']).overheadRounds).toBe(1);
    expect(parse(['--trace-sample-ratio', '1']).traceSampleRatio).toBe(1);
    expect(
      parse(['--ack-interval-ms', '250', '--overhead-rounds', '2', '--no-gateway-metrics']),
    ).toMatchObject({ ackIntervalMs: 250, overheadRounds: 2, gatewayMetrics: false });
  });
});
