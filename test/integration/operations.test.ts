import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { startProductEngine } from '../support/engine';
import { eventually } from '../support/processes';

/**
 * The Grafana dashboard and the Prometheus alert rules of deploy/ ask a
 * running engine's /metrics only for what it has: every metric a panel or a
 * rule names, and every label it selects or groups by.
 */
jest.setTimeout(120_000);

const DEPLOY = join(__dirname, '..', '..', 'deploy');
/** Labels Prometheus adds to every series (job, instance) or a histogram has (le). */
const ADDED_LABELS = new Set(['job', 'instance', 'le']);

interface Dashboard {
  panels: { title: string; targets: { expr: string }[] }[];
}
interface Rules {
  groups: { name: string; rules: { alert: string; expr: string; for?: string; labels?: { severity?: string } }[] }[];
}

const dashboard = JSON.parse(readFileSync(join(DEPLOY, 'grafana', 'listening-post.json'), 'utf8')) as Dashboard;
const rules = parse(readFileSync(join(DEPLOY, 'prometheus', 'alerts.yaml'), 'utf8')) as Rules;

/** Every PromQL expression, named by where it is. */
const queries: [string, string][] = [
  ...dashboard.panels.flatMap((panel) => panel.targets.map((t): [string, string] => [`panel '${panel.title}'`, t.expr])),
  ...rules.groups.flatMap((group) => group.rules.map((rule): [string, string] => [`alert ${rule.alert}`, rule.expr])),
];

/** A metric's name as /metrics declares it (# TYPE): a histogram's series carry a suffix. */
function family(series: string): string {
  return series.replace(/_(bucket|sum|count)$/, '');
}

test('the dashboard and the alert rules cover what operators watch', () => {
  expect(dashboard.panels.length).toBeGreaterThanOrEqual(10);
  for (const panel of dashboard.panels) expect({ panel: panel.title, targets: panel.targets.length > 0 }).toEqual({ panel: panel.title, targets: true });
  const alerts = rules.groups.flatMap((g) => g.rules);
  for (const name of ['ConsumerLag', 'DeadLetters', 'TransactionAborts', 'NotReady', 'RestoreStuck']) expect(alerts.map((a) => a.alert)).toContain(`ListeningPost${name}`);
  for (const alert of alerts) expect({ alert: alert.alert, for: alert.for !== undefined, severity: alert.labels?.severity }).toEqual({ alert: alert.alert, for: true, severity: expect.stringMatching(/^(warning|critical)$/) });
});

test('every metric and label a panel or an alert rule uses exists on a running engine\'s /metrics', async () => {
  const { running } = await startProductEngine('operations', 'token');
  try {
    await eventually(async () => (await fetch(`${running.url}/readyz`)).status === 200, 'the engine ready');
    const exposed = await (await fetch(`${running.url}/metrics`)).text();
    const declared = new Set([...exposed.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));
    const registry = running.engine.metrics.registry;
    const problems: string[] = [];
    for (const [where, expr] of queries) {
      const metrics = [...new Set([...expr.matchAll(/\b(lp_[a-z0-9_]+)\b/g)].map((m) => m[1]!))];
      if (metrics.length === 0) problems.push(`${where}: no lp_ metric in ${expr}`);
      const labels = new Set(ADDED_LABELS);
      for (const series of metrics) {
        if (!declared.has(family(series))) problems.push(`${where}: ${series} is not on /metrics`);
        const metric = registry.getSingleMetric(family(series)) as unknown as { labelNames?: string[] } | undefined;
        for (const label of metric?.labelNames ?? []) labels.add(label);
      }
      const selected = [...expr.matchAll(/\{([^}]*)\}/g)].flatMap((m) => [...m[1]!.matchAll(/(\w+)\s*(=~|!=|!~|=)/g)].map((l) => l[1]!));
      const grouped = [...expr.matchAll(/\b(?:by|without)\s*\(([^)]*)\)/g)].flatMap((m) => m[1]!.split(',').map((l) => l.trim()).filter(Boolean));
      for (const label of [...selected, ...grouped]) if (!labels.has(label)) problems.push(`${where}: label '${label}' is not a label of ${metrics.join(', ')}`);
    }
    expect(problems).toEqual([]);
    // Readiness is a metric too (alerts cannot read /readyz).
    expect(exposed).toMatch(/^lp_ready 1$/m);
    expect(exposed).toMatch(/^lp_healthy 1$/m);
  } finally {
    await running.stop();
  }
});
