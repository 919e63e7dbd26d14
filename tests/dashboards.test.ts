import { readFileSync, existsSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { tempDir } from './helpers/env.js';
import { fileURLToPath } from 'node:url';
import { describe, it, expect } from 'vitest';
import { parse } from 'yaml';
import { execFileSync } from 'node:child_process';
import { registry } from '../packages/core/src/metrics/registry.js';
import { alertRulesYaml } from '../packages/core/src/metrics/alert-rules.js';
import { loadDriftConfig } from '../packages/core/src/config/load.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const read = (path: string) => readFileSync(resolve(root, path), 'utf8');

interface Target { expr?: string; legendFormat?: string; instant?: boolean }
interface Panel { id: number; type: string; title: string; gridPos: { x: number; y: number; w: number; h: number }; datasource?: { type: string; uid: string }; targets?: Target[]; panels?: Panel[] }

const dashboard = JSON.parse(read('dashboards/drift-monitoring.json'));
const panels: Panel[] = dashboard.panels.flatMap((p: Panel) => [p, ...(p.panels ?? [])]);
const panelExprs = panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr ?? ''));
const annotationExprs: string[] = dashboard.annotations.list.filter((a: { expr?: string }) => a.expr).map((a: { expr: string }) => a.expr);
const alerts = parse(read('dashboards/alerts.yml')) as { groups: { name: string; rules: { alert: string; expr: string; for?: string; labels?: Record<string, string>; annotations?: Record<string, string> }[] }[] };
const rules = alerts.groups.flatMap((g) => g.rules);
const prometheusConfig = parse(read('dashboards/prometheus.yml'));
const compose = parse(read('docker-compose.yml'), { merge: true });

const PROMQL_WORDS = new Set([
  'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'offset', 'bool', 'and', 'or', 'unless', 'atan2',
  'inf', 'nan',
]);
/** Series Prometheus itself creates, not Driftwatch. */
const PROMETHEUS_SERIES = new Set(['up']);

/** Metric names a PromQL expression selects: identifiers left after label matchers, grouping clauses, ranges, strings and function calls are removed. */
function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\$\{?\w+\}?/g, ' ')
    .replace(/\boffset\s+\S+/g, ' ');
  const names: string[] = [];
  for (const m of stripped.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const after = stripped.slice(m.index! + m[0].length).trimStart();
    if (after.startsWith('(')) continue; // function or aggregation
    if (PROMQL_WORDS.has(m[0].toLowerCase())) continue;
    names.push(m[0]);
  }
  return names;
}

async function definedSeries(): Promise<Set<string>> {
  const metrics = await registry.getMetricsAsJSON();
  const names = new Set<string>();
  for (const m of metrics) {
    names.add(m.name);
    if (String(m.type) === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(m.name + s);
  }
  return names;
}

describe('the metric name extraction', () => {
  it('finds selectors and skips functions, labels, ranges and variables', () => {
    expect(metricNames('histogram_quantile(0.95, sum by (le, queue) (rate(driftwatch_job_duration_seconds_bucket{queue=~"$queue"}[$__rate_interval])))')).toEqual(['driftwatch_job_duration_seconds_bucket']);
    expect(metricNames('(x unless x offset 30m) and on (job, instance) (up offset 30m)')).toEqual(['x', 'x', 'up']);
  });
});

describe('dashboards/drift-monitoring.json', () => {
  it('is a Grafana dashboard on a templated Prometheus datasource with a model variable', () => {
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(dashboard.uid).toBeTruthy();
    const vars = dashboard.templating.list as { name: string; type: string; query: unknown; definition?: string }[];
    const ds = vars.find((v) => v.name === 'DS_PROMETHEUS');
    expect(ds).toMatchObject({ type: 'datasource', query: 'prometheus' });
    const model = vars.find((v) => v.name === 'model');
    expect(model?.type).toBe('query');
    expect(model?.definition).toBe('label_values(drift_overall_score, model)');
    for (const p of panels.filter((p) => p.type !== 'row')) expect(p.datasource, p.title).toEqual({ type: 'prometheus', uid: '${DS_PROMETHEUS}' });
  });

  it('has the six panels of the original design with their chart types', () => {
    const byTitle = (title: string) => panels.find((p) => p.title === title);
    const expected: [string, string, string][] = [
      ['Overall Drift Score', 'timeseries', 'drift_overall_score'],
      ['Model Accuracy', 'timeseries', 'model_accuracy'],
      ['Refusal & Toxicity Rates', 'timeseries', 'model_refusal_rate'],
      ['API Cost Tracking', 'timeseries', 'api_cost_usd_total'],
      ['Retraining Events', 'barchart', 'retrain_events_total'],
      ['Drift Breakdown', 'piechart', 'drift_embedding_score'],
    ];
    for (const [title, type, metric] of expected) {
      const panel = byTitle(title);
      expect(panel, title).toBeDefined();
      expect(panel!.type, title).toBe(type);
      expect(panel!.targets!.map((t) => t.expr).join('\n'), title).toContain(metric);
    }
    expect(byTitle('Refusal & Toxicity Rates')!.targets!.map((t) => t.expr).join('\n')).toContain('model_toxicity_rate');
    const cost = byTitle('API Cost Tracking')!;
    expect(cost.targets![0].expr).toMatch(/(rate|increase)\(api_cost_usd_total/);
    expect((cost as unknown as { fieldConfig: { defaults: { custom: { fillOpacity: number } } } }).fieldConfig.defaults.custom.fillOpacity).toBeGreaterThan(0);
    const retraining = byTitle('Retraining Events')!.targets!.map((t) => t.expr).join('\n');
    expect(retraining).toContain('increase(retrain_events_total');
    expect(retraining).toContain('reindex_events_total');
    const breakdown = byTitle('Drift Breakdown')!.targets!.map((t) => t.expr).join('\n');
    for (const m of ['drift_embedding_score', 'drift_behavior_score', 'drift_accuracy_score']) expect(breakdown).toContain(m);
  });

  it('marks retraining events as annotations', () => {
    expect(annotationExprs.some((e) => e.includes('retrain_events_total'))).toBe(true);
  });

  it('has a Fleet row with queue, job, monitor and decision panels', () => {
    const row = panels.find((p) => p.type === 'row' && p.title === 'Fleet');
    expect(row).toBeDefined();
    const fleet = panels.filter((p) => p.type !== 'row' && p.gridPos.y > row!.gridPos.y).flatMap((p) => (p.targets ?? []).map((t) => t.expr)).join('\n');
    for (const m of ['driftwatch_queue_jobs', 'histogram_quantile(0.95', 'driftwatch_job_duration_seconds_bucket', 'driftwatch_jobs_failed_total', 'driftwatch_jobs_retried_total', 'driftwatch_jobs_stalled_total', 'driftwatch_jobs_rate_limited_total', 'drift_monitor_p_value', 'drift_decisions{']) {
      expect(fleet, m).toContain(m);
    }
  });

  it('has unique panel ids and panels that do not overlap', () => {
    const ids = panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const placed = panels.filter((p) => !(p.type === 'row' && (p as unknown as { collapsed: boolean }).collapsed));
    for (const [i, a] of placed.entries()) {
      expect(a.gridPos.x + a.gridPos.w, a.title).toBeLessThanOrEqual(24);
      for (const b of placed.slice(i + 1)) {
        const overlap = a.gridPos.x < b.gridPos.x + b.gridPos.w && b.gridPos.x < a.gridPos.x + a.gridPos.w && a.gridPos.y < b.gridPos.y + b.gridPos.h && b.gridPos.y < a.gridPos.y + a.gridPos.h;
        expect(overlap, `${a.title} / ${b.title}`).toBe(false);
      }
    }
  });

  it('uses every metric of the original design', () => {
    const used = new Set([...panelExprs, ...annotationExprs].flatMap(metricNames));
    for (const m of ['drift_embedding_score', 'drift_behavior_score', 'drift_accuracy_score', 'drift_overall_score', 'model_accuracy', 'model_refusal_rate', 'model_toxicity_rate', 'retrain_events_total', 'reindex_events_total', 'api_cost_usd_total']) {
      expect(used.has(m), m).toBe(true);
    }
  });
});

describe('metric names', () => {
  it('every metric in a panel, an annotation or an alert rule is defined in the registry', async () => {
    const defined = await definedSeries();
    const sources: [string, string][] = [
      ...panels.flatMap((p) => (p.targets ?? []).map((t): [string, string] => [`panel "${p.title}"`, t.expr ?? ''])),
      ...annotationExprs.map((e): [string, string] => ['annotation', e]),
      ...rules.map((r): [string, string] => [`alert ${r.alert}`, r.expr]),
    ];
    expect(sources.length).toBeGreaterThan(20);
    const unknown: string[] = [];
    for (const [where, expr] of sources) {
      const names = metricNames(expr);
      expect(names.length, `${where}: ${expr}`).toBeGreaterThan(0);
      for (const n of names) if (!defined.has(n) && !PROMETHEUS_SERIES.has(n)) unknown.push(`${where}: ${n}`);
    }
    expect(unknown).toEqual([]);
  });
});

describe('dashboards/alerts.yml', () => {
  it('has the expected alerts, each with a severity, a summary and a description', () => {
    const names = rules.map((r) => r.alert);
    for (const a of ['DriftDetected', 'AccuracyDrop', 'HighRefusalRate', 'JobsFailing', 'QueueBacklog', 'WorkerStalls', 'ApiCostSpike']) expect(names, a).toContain(a);
    expect(new Set(names).size).toBe(names.length);
    for (const r of rules) {
      expect(r.labels?.severity, r.alert).toMatch(/^(info|warning|critical)$/);
      expect(r.annotations?.summary, r.alert).toBeTruthy();
      expect(r.annotations?.description, r.alert).toBeTruthy();
    }
    expect(rules.find((r) => r.alert === 'JobsFailing')!.expr).toContain('driftwatch_jobs_failed_total{final="true"}');
    const backlog = rules.find((r) => r.alert === 'QueueBacklog')!;
    expect(backlog.expr).toContain('driftwatch_queue_jobs{state="waiting"}');
    expect(backlog.for).toBe('30m');
  });
});

describe('alert thresholds follow the drift config', () => {
  it('the shipped alerts.yml is `driftwatch alerts --config config/drift_config.yaml`', () => {
    expect(read('dashboards/alerts.yml')).toBe(alertRulesYaml(loadDriftConfig(resolve(root, 'config/drift_config.yaml')), { source: 'config/drift_config.yaml' }));
  });

  it('takes each threshold from the config (prod: 0.03, 0.05, 0.02) and promtool accepts every variant', () => {
    const prod = parse(alertRulesYaml(loadDriftConfig(resolve(root, 'config/drift_config_prod.yaml')))) as typeof alerts;
    const expr = (name: string) => prod.groups.flatMap((g) => g.rules).find((r) => r.alert === name)!.expr;
    expect(expr('AccuracyDrop')).toMatch(/> 0\.03$/);
    expect(expr('HighRefusalRate')).toMatch(/> 0\.05$/);
    expect(expr('HighToxicityRate')).toMatch(/> 0\.02$/);
    for (const r of rules) expect(`${r.alert}: ${r.expr}`).not.toMatch(/offset|\bup\b.*unless|unless.*\bup\b/);
    if (existsSync('/usr/bin/promtool')) {
      for (const cfg of ['drift_config.yaml', 'drift_config_dev.yaml', 'drift_config_prod.yaml']) {
        const out = join(tempDir('alerts-'), 'alerts.yml');
        writeFileSync(out, alertRulesYaml(loadDriftConfig(resolve(root, 'config', cfg))));
        expect(execFileSync('/usr/bin/promtool', ['check', 'rules', out], { encoding: 'utf8' }), cfg).toContain('SUCCESS');
      }
    }
  });
});

describe('dashboards/prometheus.yml and docker-compose.yml', () => {
  const services = Object.keys(compose.services ?? {});
  const job = prometheusConfig.scrape_configs.find((j: { job_name: string }) => j.job_name === 'drift_detection');

  it('scrapes the drift_detection job every 60s and loads the alert rules', () => {
    expect(job).toBeDefined();
    expect(job.scrape_interval).toBe('60s');
    for (const f of prometheusConfig.rule_files as string[]) expect(existsSync(resolve(root, 'dashboards', f)), f).toBe(true);
    expect(prometheusConfig.rule_files).toContain('alerts.yml');
  });

  it('targets only services that docker-compose.yml defines, on the metrics port', () => {
    const targets: string[] = [
      ...(job.static_configs ?? []).flatMap((c: { targets: string[] }) => c.targets),
      ...(job.dns_sd_configs ?? []).flatMap((c: { names: string[]; port: number }) => c.names.map((n) => `${n}:${c.port}`)),
    ];
    const hosts = targets.map((t) => t.split(':')[0]);
    expect(hosts).toEqual(expect.arrayContaining(['scheduler', 'workers']));
    for (const t of targets) {
      const [host, port] = t.split(':');
      expect(services, t).toContain(host);
      expect(port, t).toBe('8000');
    }
  });

  it('defines the services of the deployment', () => {
    for (const s of ['redis', 'postgres', 'prometheus', 'alertmanager', 'grafana', 'migrate', 'scheduler', 'workers']) expect(services, s).toContain(s);
    expect(compose.services.redis.command.join(' ')).toMatch(/--maxmemory-policy noeviction/);
    expect(compose.services.postgres.image).toMatch(/^pgvector\/pgvector:pg16/);
    expect(compose.services.workers.deploy.replicas).toBe(2);
    expect(compose.services.workers.command[0]).toBe('worker');
    expect(compose.services.scheduler.command).toEqual(['scheduler']);
    expect(compose.services.migrate.command).toEqual(['migrate']);
    for (const s of ['scheduler', 'workers']) {
      expect(compose.services[s].depends_on.migrate.condition, s).toBe('service_completed_successfully');
      expect(compose.services[s].environment.DATABASE_URL, s).toBe('postgres://driftwatch:driftwatch@postgres:5432/driftwatch');
      expect(compose.services[s].environment.REDIS_URL, s).toBe('redis://redis:6379');
      expect(compose.services[s].healthcheck.test.join(' '), s).toContain('/healthz');
    }
  });

  it('wires Alertmanager, shares the data folder between Driftwatch containers, and passes docker-compose config', () => {
    expect(prometheusConfig.alerting.alertmanagers[0].static_configs[0].targets).toEqual(['alertmanager:9093']);
    expect(compose.services.alertmanager.volumes).toContain('./dashboards/alertmanager.yml:/etc/alertmanager/alertmanager.yml:ro');
    for (const s of ['scheduler', 'workers', 'migrate']) {
      expect(compose.services[s].volumes, s).toContain('driftwatch-data:/data');
      expect(compose.services[s].environment.DRIFTWATCH_DATA_DIR, s).toBe('/data');
    }
    expect(compose.services.workers.command.join(' ')).toMatch(/notify/);
    if (existsSync('/usr/bin/docker-compose')) execFileSync('/usr/bin/docker-compose', ['-f', resolve(root, 'docker-compose.yml'), 'config', '-q'], { cwd: root, stdio: 'pipe' });
    if (existsSync('/usr/bin/amtool')) expect(execFileSync('/usr/bin/amtool', ['check-config', resolve(root, 'dashboards/alertmanager.yml')], { encoding: 'utf8' })).toContain('SUCCESS');
    if (existsSync('/usr/bin/promtool')) expect(execFileSync('/usr/bin/promtool', ['check', 'config', resolve(root, 'dashboards/prometheus.yml')], { encoding: 'utf8' })).toContain('SUCCESS');
  });

  it('mounts files that exist', () => {
    for (const [name, service] of Object.entries(compose.services as Record<string, { volumes?: string[] }>)) {
      for (const v of service.volumes ?? []) {
        const source = v.split(':')[0];
        if (source.startsWith('./')) expect(existsSync(resolve(root, source)), `${name}: ${source}`).toBe(true);
      }
    }
  });
});
