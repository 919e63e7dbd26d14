import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgliteDb, migrate, storeDriftRun, transitionDecision, windowsFor, type Db, type MonitorResult } from '@driftwatch/core';
import { metricsOfRecord } from '../../packages/core/src/metrics/of-record.js';
import { registry } from '../../packages/core/src/metrics/registry.js';
import { makeDecision } from '../helpers/decisions.js';

/** The exposition's samples as `name{labels}` -> value, for the names asked. */
async function scrape(names: string[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const line of (await registry.metrics()).split('\n')) {
    if (line.startsWith('#') || !line) continue;
    const [series, value] = [line.slice(0, line.lastIndexOf(' ')), Number(line.slice(line.lastIndexOf(' ') + 1))];
    if (names.some((n) => series === n || series.startsWith(`${n}{`))) out.set(series, value);
  }
  return out;
}

const result = (kind: MonitorResult['kind'], over: Partial<MonitorResult>): MonitorResult => ({
  kind, status: 'drift', score: 0.5, severity: 'moderate', p_value: 0.001, n_baseline: 500, n_current: 500, methods: {}, gauges: {}, reason: 'test', ...over,
});

describe('figures of record come from the database at scrape time', () => {
  let db: Db;
  const now = new Date('2026-03-10T00:00:00Z');
  const opts = { models: ['support-bot', 'idle-bot'], baselineDays: 30, currentDays: 7, now: () => now };
  beforeAll(async () => {
    db = await PgliteDb.open('memory://');
    await migrate(db);
  });
  afterAll(() => db?.close());

  it('counters of every configured model start at 0; no drift gauge is invented before a run', async () => {
    await metricsOfRecord(db, opts).refresh();
    const s = await scrape(['retrain_events_total', 'reindex_events_total', 'drift_monitor_runs_total', 'drift_decisions_total', 'api_cost_usd_total', 'drift_overall_score']);
    for (const model of ['support-bot', 'idle-bot']) {
      expect(s.get(`retrain_events_total{model="${model}",outcome="promoted"}`)).toBe(0);
      expect(s.get(`reindex_events_total{model="${model}",outcome="succeeded"}`)).toBe(0);
      expect(s.get(`drift_monitor_runs_total{model="${model}",monitor="accuracy",status="drift"}`)).toBe(0);
      expect(s.get(`drift_decisions_total{model="${model}",action="finetune"}`)).toBe(0);
      expect(s.get(`api_cost_usd_total{source="application",model="${model}"}`)).toBe(0);
    }
    expect([...s.keys()].some((k) => k.startsWith('drift_overall_score'))).toBe(false);
  });

  it('a fresh exporter (another process, a restart) shows the latest run, baselines, decisions, events and cost', async () => {
    const w = windowsFor(now, 30, 7);
    const old = windowsFor(new Date(now.getTime() - 86_400_000), 30, 7);
    // An older run, then the latest one: the latest wins.
    await storeDriftRun(db, 'r1', 'support-bot', old, result('accuracy', { score: 0.1, gauges: { model_accuracy: 0.9 }, methods: { eval_accuracy: { baseline: 0.91, current: 0.9 } } }));
    await storeDriftRun(db, 'r2', 'support-bot', w, result('accuracy', { score: 0.7, gauges: { model_accuracy: 0.78 }, methods: { eval_accuracy: { baseline: 0.92, current: 0.78 } } }));
    await storeDriftRun(db, 'r2', 'support-bot', w, result('behavior', { score: 0.4, gauges: { model_refusal_rate: 0.12, model_toxicity_rate: 0.01 }, methods: { refusal_rate: { baseline: 0.03, current: 0.12 }, toxicity_rate: { baseline: 0.01, current: 0.01 }, cost_per_interaction: { baseline: 0.05, current: 0.065 } } }));
    await storeDriftRun(db, 'r2', 'support-bot', w, result('embedding', { status: 'insufficient_data', score: 0, p_value: null }));
    const ft = await makeDecision(db, { action: 'finetune', state: 'running' });
    await transitionDecision(db, ft.id, ['running'], 'succeeded', { result: { outcome: 'promoted' } });
    const ri = await makeDecision(db, { action: 'reindex', state: 'running' });
    await transitionDecision(db, ri.id, ['running'], 'succeeded', { result: {} });
    await makeDecision(db, { action: 'safety', state: 'awaiting_approval' });
    // Application cost: one row with cost_usd, one with tokens only (gpt-4o-mini: $0.15 / $0.60 per 1M).
    await db.query(`INSERT INTO interaction_log (model, ts, query, cost_usd) VALUES ('support-bot', $1, 'q', 2.5)`, [new Date(now.getTime() - 86_400_000)]);
    await db.query(`INSERT INTO interaction_log (model, model_version, ts, query, prompt_tokens, completion_tokens) VALUES ('support-bot', 'gpt-4o-mini', $1, 'q', 1000000, 1000000)`, [new Date(now.getTime() - 10 * 86_400_000)]);

    await db.query(`INSERT INTO model_versions (model, version, provider, status, eval_accuracy) VALUES ('support-bot', 'v1', 'offline', 'promoted', 0.9)`);

    const fresh = metricsOfRecord(db, opts);
    await fresh.refresh();
    const s = await scrape(['drift_overall_score', 'drift_accuracy_score', 'drift_embedding_score', 'model_accuracy', 'model_accuracy_baseline', 'model_refusal_rate', 'model_refusal_rate_baseline', 'model_cost_per_interaction_usd', 'retrain_events_total', 'reindex_events_total', 'drift_decisions', 'drift_decisions_total', 'drift_monitor_window_end_timestamp_seconds', 'api_cost_usd_total', 'api_cost_usd_per_day', 'drift_monitor_runs_total', 'model_serving_eval_accuracy']);
    expect(s.get('drift_overall_score{model="support-bot"}')).toBe(0.7);
    expect(s.get('drift_accuracy_score{model="support-bot"}')).toBe(0.7);
    expect(s.get('drift_embedding_score{model="support-bot"}')).toBe(0);
    expect(s.get('model_accuracy{model="support-bot"}')).toBe(0.78);
    expect(s.get('model_accuracy_baseline{model="support-bot"}')).toBe(0.92);
    expect(s.get('model_refusal_rate{model="support-bot"}')).toBe(0.12);
    expect(s.get('model_refusal_rate_baseline{model="support-bot"}')).toBe(0.03);
    expect(s.get('model_cost_per_interaction_usd{model="support-bot",window="current"}')).toBe(0.065);
    expect(s.get('retrain_events_total{model="support-bot",outcome="promoted"}')).toBe(1);
    expect(s.get('model_serving_eval_accuracy{model="support-bot",version="v1"}')).toBe(0.9);
    expect(s.get('reindex_events_total{model="support-bot",outcome="succeeded"}')).toBe(1);
    expect(s.get('drift_decisions{model="support-bot",action="safety",state="awaiting_approval"}')).toBe(1);
    expect(s.get('drift_decisions_total{model="support-bot",action="finetune"}')).toBe(1);
    expect(s.get('drift_monitor_runs_total{model="support-bot",monitor="accuracy",status="drift"}')).toBe(2);
    expect(s.get('drift_monitor_window_end_timestamp_seconds{model="support-bot",monitor="accuracy"}')).toBe(now.getTime() / 1000);
    expect(s.get('api_cost_usd_total{source="application",model="support-bot"}')).toBeCloseTo(2.5 + 0.15 + 0.6, 9);
    expect(s.get('api_cost_usd_per_day{model="support-bot",window="current"}')).toBeCloseTo(2.5 / 7, 9);
    expect(s.get('api_cost_usd_per_day{model="support-bot",window="baseline"}')).toBeCloseTo(0.75 / 30, 9);

    // The cost counter grows by what is logged after the last scrape, and never counts a row twice.
    await db.query(`INSERT INTO interaction_log (model, query, cost_usd) VALUES ('support-bot', 'q', 1)`);
    await fresh.refresh();
    await fresh.refresh();
    expect((await scrape(['api_cost_usd_total'])).get('api_cost_usd_total{source="application",model="support-bot"}')).toBeCloseTo(4.25, 9);
  });
});
