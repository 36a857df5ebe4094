// docker/grafana/dashboards/ccs.json asks only for metrics the sync-server exports: every
// PromQL expression of every panel is checked against a scrape of /metrics.
import { readFileSync } from 'node:fs';
import { restCall } from '@ccs/test-clients';
import { describe, expect } from 'vitest';
import { test } from './server-fixtures.js';

const DASHBOARD_PATH = new URL('../../../docker/grafana/dashboards/ccs.json', import.meta.url);

interface Target {
  readonly expr?: unknown;
  readonly datasource?: { readonly uid?: unknown };
}

interface Panel {
  readonly id?: unknown;
  readonly type?: unknown;
  readonly title?: unknown;
  readonly datasource?: { readonly uid?: unknown };
  readonly targets?: readonly Target[];
  readonly panels?: readonly Panel[];
}

interface Dashboard {
  readonly schemaVersion?: unknown;
  readonly panels?: readonly Panel[];
  readonly templating?: { readonly list?: readonly { readonly name?: unknown }[] };
}

const dashboard = JSON.parse(readFileSync(DASHBOARD_PATH, 'utf8')) as Dashboard;

/** Every panel, rows' collapsed panels included. */
function allPanels(panels: readonly Panel[] = []): Panel[] {
  return panels.flatMap((panel) => [panel, ...allPanels(panel.panels)]);
}

const panels = allPanels(dashboard.panels);
const queryPanels = panels.filter((panel) => panel.type !== 'row');
const exprs = queryPanels.flatMap((panel) =>
  (panel.targets ?? []).map((target) => ({ panel: String(panel.title), expr: target.expr })),
);

/** `# TYPE <name> <type>` lines of a Prometheus text scrape. */
function metricTypes(scrape: string): Map<string, string> {
  const types = new Map<string, string>();
  for (const [, name, type] of scrape.matchAll(/^# TYPE (\S+) (\S+)$/gm)) types.set(name!, type!);
  return types;
}

async function scrape(url: string): Promise<Map<string, string>> {
  const answer = await restCall(url, 'GET', '/metrics');
  expect(answer.status).toBe(200);
  return metricTypes(Buffer.from(answer.body as Uint8Array).toString('utf8'));
}

/**
 * Why `name`, as used in a query, is not what `types` exports (undefined: it is): a histogram is
 * queried through its `_bucket`, `_sum` or `_count` series, never by its own name.
 */
function problemWith(name: string, types: ReadonlyMap<string, string>): string | undefined {
  const type = types.get(name);
  if (type === 'histogram' || type === 'summary') return `${name} is a ${type}: query a series`;
  if (type !== undefined) return undefined;
  const series = /^(.+)_(bucket|sum|count)$/.exec(name);
  if (!series) return `${name} is not exported`;
  const baseType = types.get(series[1]!);
  if (baseType === 'histogram') return undefined;
  if (baseType === 'summary' && series[2] !== 'bucket') return undefined;
  return `${name}: ${series[1]} is ${baseType ? `a ${baseType}` : 'not exported'}`;
}

describe('Grafana dashboard docker/grafana/dashboards/ccs.json', () => {
  test('is a dashboard of titled panels with unique ids on the provisioned Prometheus', () => {
    expect(dashboard.schemaVersion).toEqual(expect.any(Number));
    expect(queryPanels.length).toBeGreaterThan(0);
    const ids = panels.map((panel) => panel.id);
    for (const id of ids) expect(id).toEqual(expect.any(Number));
    expect(new Set(ids).size).toBe(ids.length);
    for (const panel of panels) {
      expect(panel.title, `panel ${String(panel.id)}`).toEqual(expect.stringMatching(/\S/));
    }
    for (const panel of queryPanels) {
      const where = `panel "${String(panel.title)}"`;
      expect(panel.datasource?.uid, where).toBe('prometheus');
      expect(panel.targets?.length, where).toBeGreaterThan(0);
      for (const target of panel.targets ?? []) {
        expect(target.datasource?.uid ?? 'prometheus', where).toBe('prometheus');
        expect(target.expr, where).toEqual(expect.stringMatching(/\S/));
      }
    }
    // Every query follows the instance picker.
    expect(dashboard.templating?.list?.map((variable) => variable.name)).toContain('instance');
    for (const { panel, expr } of exprs) expect(expr, panel).toContain('instance=~"$instance"');
  });

  test('queries only metrics the sync-server exports on /metrics', async ({
    server,
    startServer,
  }) => {
    const used = new Map<string, string[]>();
    for (const { panel, expr } of exprs) {
      for (const [name] of String(expr).matchAll(/\bccs_[a-z_]+/g)) {
        used.set(name, [...(used.get(name) ?? []), panel]);
      }
    }
    // A gateway (the fixture's role) exports all but the job metrics; those exist where jobs
    // run, so they are looked up on a server of role `all`.
    const gateway = await scrape(server.url);
    const all = await startServer({ CCS_ROLE: 'all' });
    // Its queues and workers set up before the scrape.
    await all.jobs?.ready;
    const withJobs = await scrape(all.url);
    const problems: string[] = [];
    for (const [name, usedBy] of used) {
      const types = name.startsWith('ccs_job') ? withJobs : gateway;
      const problem = problemWith(name, types);
      if (problem) problems.push(`${problem} (${usedBy.join(', ')})`);
    }
    // Every metric of packages/server/README.md's table, gateway and jobs, has a panel.
    const queried = new Set(
      [...used.keys()].map((name) => name.replace(/_(bucket|sum|count)$/, '')),
    );
    for (const name of [
      'ccs_commit_to_emit_seconds',
      'ccs_commit_to_device_ack_seconds',
      'ccs_relay_read_seconds',
      'ccs_relay_tail_lag_changes',
      'ccs_relay_tail_lag_seconds',
      'ccs_resumes_total',
      'ccs_subscriptions',
      'ccs_relay_tracked_streams',
      'ccs_connected_sockets',
      'ccs_changes_delivered_total',
      'ccs_client_events_rejected_total',
      'ccs_handshakes_refused_total',
      'ccs_events_dropped_total',
      'ccs_sessions_ended_total',
      'ccs_subscriptions_revoked_total',
      'ccs_jobs_completed_total',
      'ccs_jobs_failed_total',
      'ccs_job_duration_seconds',
      'ccs_jobs',
    ]) {
      if (!queried.has(name)) problems.push(`${name} has no panel`);
    }
    expect(problems).toEqual([]);
  });
});
