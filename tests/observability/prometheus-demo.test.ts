import { createServer, type Server } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { alertRulesYaml } from '../../packages/core/src/metrics/alert-rules.js';
import { loadDriftConfig } from '../../packages/core/src/config/load.js';
import { freePort } from '../../packages/core/src/net.js';
import { dropPrefix, REDIS_URL, ROOT, runCli, tempDir, uniquePrefix, writeYaml } from '../helpers/env.js';
import { spawnDriftwatch, waitFor, type FleetProcess } from '../helpers/fleet.js';
import { startSharedPostgres, type SharedPostgres } from '../helpers/pglite-server.js';
import { startAlertmanager, startPrometheus, type TestPrometheus } from '../helpers/prometheus.js';

interface Target { expr: string; legendFormat?: string }
interface Panel { id: number; type: string; title: string; targets?: Target[] }
const dashboard = JSON.parse(readFileSync(join(ROOT, 'dashboards/drift-monitoring.json'), 'utf8')) as { panels: Panel[]; annotations: { list: { name: string; expr?: string }[] } };
/** A panel's expression as Grafana would send it for "All" models and queues over the last hour. */
const grafana = (expr: string) => expr.replaceAll('$model', '.*').replaceAll('$queue', '.*').replaceAll('$__rate_interval', '1m').replaceAll('$__range', '1h');

const prefix = uniquePrefix('prom');
const closers: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of closers.reverse()) await c().catch(() => {});
  await dropPrefix(prefix);
});

describe('the dashboard and the alerts, evaluated by a real Prometheus on the demo', () => {
  it('shows each story of the demo and fires the right alerts, delivered through Alertmanager', async () => {
    const dir = tempDir('driftwatch-promdemo-');
    const shared: SharedPostgres = await startSharedPostgres();
    closers.push(() => shared.close());
    const metricsPort = await freePort();
    const env = {
      DRIFT_CONFIG: 'config/drift_config.yaml',
      DEPLOYMENT_CONFIG: writeYaml(dir, 'deployment.yaml', { http: { port: 0, host: '127.0.0.1' } }),
      DATABASE_URL: shared.url,
      DRIFTWATCH_QUEUE_PREFIX: prefix,
      REDIS_URL,
    };
    const seeded = await runCli(['demo'], env, { timeoutMs: 240_000 });
    expect(seeded.code, seeded.stderr).toBe(0);
    const facts = JSON.parse(seeded.stdout) as { baseline: { cost_per_day: number }; current: { cost_per_day: number } };

    // Alertmanager delivering to a local webhook receiver.
    const received: { alerts: { labels: Record<string, string>; status: string }[] }[] = [];
    const hook: Server = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        received.push(JSON.parse(body));
        res.end('ok');
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', () => r()));
    closers.push(() => new Promise((r) => hook.close(() => r(undefined))));
    const am = await startAlertmanager(`http://127.0.0.1:${(hook.address() as { port: number }).port}/alerts`);
    closers.push(() => am.close());

    // The fleet in one process, scraped from before the run, as in a deployment.
    const fleet: FleetProcess = await spawnDriftwatch(['start'], { ...env, DRIFTWATCH_METRICS_PORT: String(metricsPort) }, { readyTimeoutMs: 120_000 });
    closers.push(() => fleet.stop());
    // The shipped rules' thresholds, with `for: 0s` so that the test sees them fire at once.
    const rules = writeYaml(dir, 'alerts.yml', alertRulesYaml(loadDriftConfig(join(ROOT, 'config/drift_config.yaml')), { for: '0s' }));
    const prom: TestPrometheus = await startPrometheus([`127.0.0.1:${metricsPort}`], { role: 'scheduler' }, { rules: [rules], alertmanager: am.address, jobName: 'drift_detection' });
    closers.push(() => prom.close());
    const value = async (q: string) => {
      const r = await prom.query(q);
      return r.length ? Number(r[0].value[1]) : undefined;
    };
    // Counters of record are there at 0 before anything ran.
    expect(await waitFor(() => value('sum(retrain_events_total{model="support-bot"})').then((v) => v !== undefined), 'the first scrape', 30_000)).toBe(true);
    expect(await value('sum(retrain_events_total) + sum(reindex_events_total)')).toBe(0);
    // A few scrapes at 0, so that increase() has a start.
    await waitFor(async () => ((await value('count_over_time(up[1m])')) ?? 0) >= 3, 'three scrapes', 60_000, 250);

    const run = await runCli(['run-once', '--wait', '--timeout', '600'], env, { timeoutMs: 660_000 });
    expect(run.code, run.stderr).toBe(0);
    await waitFor(async () => (await value('sum(retrain_events_total{model="support-bot"})')) === 1 && (await value('sum(reindex_events_total{model="support-bot"})')) === 1, 'both action events scraped', 60_000, 500);
    // Let Prometheus evaluate the rules on the new figures.
    await waitFor(async () => (await prom.alerts()).some((a) => a.labels.alertname === 'AccuracyDrop' && a.state === 'firing'), 'AccuracyDrop firing', 60_000, 500);

    // Every panel query parses and, for the drift panels, returns data.
    const byTitle = (t: string) => dashboard.panels.find((p) => p.title === t)!;
    for (const p of dashboard.panels) for (const t of p.targets ?? []) await prom.query(grafana(t.expr));
    for (const a of dashboard.annotations.list) if (a.expr) await prom.query(grafana(a.expr));
    for (const title of ['Overall Drift Score', 'Model Accuracy', 'Refusal & Toxicity Rates', 'API Cost Tracking', 'Retraining Events', 'Drift Breakdown', 'Decisions by state', 'Monitor runs by status']) {
      const results = await Promise.all(byTitle(title).targets!.map((t) => prom.query(grafana(t.expr))));
      expect(results.some((r) => r.length > 0), title).toBe(true);
    }
    const q = async (title: string, i: number) => prom.query(grafana(byTitle(title).targets![i].expr));
    const one = (r: { value: [number, string] }[]) => Number(r[0].value[1]);
    expect(one(await q('Overall Drift Score', 0))).toBeGreaterThan(0);
    expect(one(await q('Model Accuracy', 0))).toBeCloseTo(0.78, 1);
    expect(one(await q('Model Accuracy', 1))).toBeCloseTo(0.92, 1);
    expect(one(await q('Refusal & Toxicity Rates', 0))).toBeGreaterThan(0.1);
    // Retraining Events per day: one fine-tune and one re-index (increase() extrapolates a little).
    expect(one(await q('Retraining Events', 0))).toBeGreaterThanOrEqual(0.9);
    expect(one(await q('Retraining Events', 0))).toBeLessThan(1.6);
    expect(one(await q('Retraining Events', 1))).toBeGreaterThanOrEqual(0.9);
    expect(one(await q('Retraining Events', 1))).toBeLessThan(1.6);
    // Cost: the application's spend per day, baseline window vs current window ($50 -> $65 a day).
    const perDay = Object.fromEntries((await q('API Cost Tracking', 1)).map((r) => [r.metric.window, Number(r.value[1])]));
    // The panel shows what the demo seeded (its own figures, from `driftwatch demo`'s output), and a rise where it seeded one.
    expect(perDay.baseline).toBeCloseTo(facts.baseline.cost_per_day, 0);
    expect(perDay.current).toBeCloseTo(facts.current.cost_per_day, 0);
    // The demo's users cost more a day once they ask programming questions (longer prompts and answers).
    expect(facts.current.cost_per_day).toBeGreaterThan(facts.baseline.cost_per_day * 1.05);
    expect(perDay.current).toBeGreaterThan(perDay.baseline);
    // Decisions by state: the fine-tune and the re-index, finished.
    const decisions = (await q('Decisions by state', 0)).map((r) => `${r.metric.action} ${r.metric.state}`).sort();
    expect(decisions).toEqual(['finetune succeeded', 'reindex succeeded']);

    // Alerts.
    const alerts = await prom.alerts();
    const firing = new Set(alerts.filter((a) => a.state === 'firing').map((a) => a.labels.alertname));
    for (const a of ['DriftDetected', 'AccuracyDrop', 'HighRefusalRate']) expect(firing, a).toContain(a);
    expect(firing).not.toContain('HighToxicityRate');
    expect(firing).not.toContain('JobsFailing');

    // Alertmanager delivered them to the webhook.
    const delivered = await waitFor(() => {
      const names = new Set(received.flatMap((b) => b.alerts.filter((a) => a.status === 'firing').map((a) => a.labels.alertname)));
      return ['DriftDetected', 'AccuracyDrop', 'HighRefusalRate'].every((n) => names.has(n)) ? names : undefined;
    }, 'Alertmanager webhook deliveries', 60_000, 250);
    expect(delivered.has('HighToxicityRate')).toBe(false);
    expect(received.flatMap((b) => b.alerts).find((a) => a.labels.alertname === 'AccuracyDrop')!.labels.model).toBe('support-bot');
  }, 900_000);
});
