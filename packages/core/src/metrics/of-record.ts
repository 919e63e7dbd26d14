import type { Counter, Gauge } from 'prom-client';
import type { Queryable } from '../db/types.js';
import { windowsFor } from '../db/repo/windows.js';
import { MONITOR_KINDS, type MonitorResult } from '../monitors/types.js';
import { chatCost } from '../providers/prices.js';
import * as m from './registry.js';
import { rollbacksTotal } from './serving.js';

/**
 * The figures of record, read from the database at scrape time (the scheduler role
 * registers `refresh` as a scrape hook; worker processes never set these metrics):
 *
 * - drift_{embedding,behavior,accuracy}_score, drift_overall_score, drift_monitor_p_value,
 *   drift_monitor_drift (1 = drift), drift_monitor_last_run_timestamp_seconds, drift_monitor_window_end_timestamp_seconds:
 *   the latest stored run of each (model, monitor);
 * - model_accuracy / model_refusal_rate / model_toxicity_rate and their `_baseline`
 *   twins, model_cost_per_interaction_usd{window}: the latest run with enough data;
 * - drift_monitor_runs_total, drift_decisions_total, drift_decisions{state},
 *   retrain_events_total / reindex_events_total / safety_events_total{outcome}: counted
 *   from drift_runs and decisions (an action event is a decision that finished:
 *   succeeded, with the runner's finer outcome such as promoted/rejected/held, or failed);
 * - model_serving_eval_accuracy{model, version}: the gate's accuracy of the promoted version;
 * - rollbacks_total{model, kind, by}: rollback decisions (kind model|policy; by auto when
 *   Driftwatch's verification did it, manual for the CLI, the HTTP API or anyone else), so a
 *   rollback shows whichever process made it (a CLI run, a worker, another replica);
 * - api_cost_usd_total{source="application", model}: the application's spend from its
 *   logged interactions, and api_cost_usd_per_day{model, window}: mean spend per day over
 *   the drift windows ending now.
 *
 * Counters exist at 0 for every configured model and known label value from the first
 * scrape, so `increase()` sees the first event. Every figure is computed first and set in
 * one synchronous step, so a scrape never sees half an update.
 */
export interface MetricsOfRecordOptions {
  /** Configured models (their counters start at 0). */
  models: string[];
  baselineDays: number;
  currentDays: number;
  now?: () => Date;
  /** How long the per-day cost over the drift windows is kept before it is read again (it scans the windows' rows). Default 5 min. */
  windowCostTtlMs?: number;
}

/** Outcome labels an action event can have (initialised at 0 for every configured model). */
export const ACTION_OUTCOMES = {
  finetune: ['promoted', 'rejected', 'held', 'succeeded', 'failed'],
  reindex: ['succeeded', 'failed'],
  safety: ['succeeded', 'failed'],
} as const;
const EVENT_COUNTER: Record<keyof typeof ACTION_OUTCOMES, Counter<'model' | 'outcome'>> = {
  finetune: m.retrainEventsTotal,
  reindex: m.reindexEventsTotal,
  safety: m.safetyEventsTotal,
};
const DECISION_STATES = ['queued', 'awaiting_approval', 'running', 'succeeded', 'failed', 'skipped', 'rejected'] as const;
const SCORE_GAUGE = { embedding: m.driftEmbeddingScore, behavior: m.driftBehaviorScore, accuracy: m.driftAccuracyScore } as const;

interface LatestRow {
  model: string;
  monitor: MonitorResult['kind'];
  status: MonitorResult['status'];
  score: number;
  p_value: number | null;
  result: MonitorResult | string;
  created: number;
  window_end: number;
}

type Labels = Record<string, string>;
interface Sample<L extends string = string> {
  metric: Gauge<L> | Counter<L>;
  labels: Labels;
  value: number;
}

const num = (x: unknown): number | null => (typeof x === 'number' && Number.isFinite(x) ? x : null);
const parsed = (r: LatestRow): MonitorResult => (typeof r.result === 'string' ? JSON.parse(r.result) : r.result);

/** Reads every figure of record; `refresh()` is the scrape hook. */
export function metricsOfRecord(db: Queryable, opts: MetricsOfRecordOptions) {
  const now = opts.now ?? (() => new Date());
  const ttl = opts.windowCostTtlMs ?? 300_000;
  // The application's cost counter grows by the rows logged since the last scrape (by id).
  const cost = { cursor: 0, byModel: new Map<string, number>() };
  let windowCost: { at: number; samples: Sample[] } | undefined;

  async function latestRuns(onlyWithData: boolean): Promise<LatestRow[]> {
    return (
      await db.query<LatestRow>(
        `SELECT DISTINCT ON (model, monitor) model, monitor, status, score, p_value, result,
                extract(epoch FROM created_at)::float8 AS created, extract(epoch FROM current_end)::float8 AS window_end
           FROM drift_runs ${onlyWithData ? "WHERE status <> 'insufficient_data'" : ''}
          ORDER BY model, monitor, created_at DESC, id DESC`,
      )
    ).rows;
  }

  /** Rows logged since the cursor: their cost_usd, or tokens x the price table where only tokens were logged. */
  async function newCost(): Promise<void> {
    const rows = (
      await db.query<{ model: string; priced_as: string; usd: number | null; pt: number | null; ct: number | null; max_id: string | number }>(
        `SELECT model, coalesce(model_version, model) AS priced_as, sum(cost_usd)::float8 AS usd,
                sum(prompt_tokens) FILTER (WHERE cost_usd IS NULL)::float8 AS pt,
                sum(completion_tokens) FILTER (WHERE cost_usd IS NULL)::float8 AS ct, max(id) AS max_id
           FROM interaction_log WHERE id > $1 GROUP BY model, coalesce(model_version, model)`,
        [cost.cursor],
      )
    ).rows;
    let cursor = cost.cursor;
    for (const r of rows) {
      const usd = (r.usd ?? 0) + chatCost(r.priced_as, r.pt ?? 0, r.ct ?? 0);
      cost.byModel.set(r.model, (cost.byModel.get(r.model) ?? 0) + usd);
      cursor = Math.max(cursor, Number(r.max_id));
    }
    cost.cursor = cursor;
  }

  async function perDayCost(): Promise<Sample[]> {
    if (windowCost && Date.now() - windowCost.at < ttl) return windowCost.samples;
    const w = windowsFor(now(), opts.baselineDays, opts.currentDays);
    const rows = (
      await db.query<{ model: string; win: 'baseline' | 'current'; priced_as: string; usd: number | null; pt: number | null; ct: number | null }>(
        `SELECT model, CASE WHEN ts >= $2 THEN 'current' ELSE 'baseline' END AS win, coalesce(model_version, model) AS priced_as,
                sum(cost_usd)::float8 AS usd, sum(prompt_tokens) FILTER (WHERE cost_usd IS NULL)::float8 AS pt,
                sum(completion_tokens) FILTER (WHERE cost_usd IS NULL)::float8 AS ct
           FROM interaction_log WHERE ts >= $1 AND ts < $3 GROUP BY 1, 2, 3`,
        [w.baseline.start, w.current.start, w.current.end],
      )
    ).rows;
    const sums = new Map<string, number>();
    for (const r of rows) {
      const k = `${r.model}\u0000${r.win}`;
      sums.set(k, (sums.get(k) ?? 0) + (r.usd ?? 0) + chatCost(r.priced_as, r.pt ?? 0, r.ct ?? 0));
    }
    const samples: Sample[] = [];
    const models = new Set([...opts.models, ...rows.map((r) => r.model)]);
    for (const model of models) {
      for (const [win, days] of [['baseline', opts.baselineDays], ['current', opts.currentDays]] as const) {
        samples.push({ metric: m.apiCostUsdPerDay, labels: { model, window: win }, value: (sums.get(`${model}\u0000${win}`) ?? 0) / days });
      }
    }
    windowCost = { at: Date.now(), samples };
    return samples;
  }

  async function refresh(): Promise<void> {
    const [latest, latestWithData, runCounts, decisionCounts, windowSamples, serving, rollbacks] = await Promise.all([
      latestRuns(false),
      latestRuns(true),
      db.query<{ model: string; monitor: string; status: string; n: number }>('SELECT model, monitor, status, count(*)::int AS n FROM drift_runs GROUP BY 1, 2, 3'),
      db.query<{ model: string; action: string; state: string; outcome: string | null; n: number }>(
        `SELECT model, action, state, CASE WHEN state = 'succeeded' THEN coalesce(result->>'outcome', 'succeeded') END AS outcome, count(*)::int AS n
           FROM decisions GROUP BY 1, 2, 3, 4`,
      ),
      perDayCost(),
      db.query<{ model: string; version: string; acc: number }>(`SELECT model, version, eval_accuracy::float8 AS acc FROM model_versions WHERE status = 'promoted' AND eval_accuracy IS NOT NULL`),
      db.query<{ model: string; kind: string; who: string; n: number }>(
        `SELECT model, coalesce(details->>'kind', 'model') AS kind, CASE WHEN decided_by LIKE 'driftwatch%' THEN 'auto' ELSE 'manual' END AS who, count(*)::int AS n
           FROM decisions WHERE action = 'rollback' AND state = 'succeeded' GROUP BY 1, 2, 3`,
      ),
      newCost(),
    ]);

    const gauges: Sample[] = [...windowSamples];
    const overall = new Map<string, number>();
    for (const r of latest) {
      const res = parsed(r);
      const score = r.status === 'insufficient_data' ? 0 : Number(r.score);
      gauges.push({ metric: SCORE_GAUGE[r.monitor], labels: { model: r.model }, value: score });
      overall.set(r.model, Math.max(overall.get(r.model) ?? 0, score));
      gauges.push({ metric: m.monitorPValue, labels: { model: r.model, monitor: r.monitor }, value: r.p_value ?? res.p_value ?? 1 });
      gauges.push({ metric: m.monitorDrift, labels: { model: r.model, monitor: r.monitor }, value: r.status === 'drift' ? 1 : 0 });
      gauges.push({ metric: m.lastRunTimestamp, labels: { model: r.model, monitor: r.monitor }, value: Number(r.created) });
      gauges.push({ metric: m.lastRunWindowEnd, labels: { model: r.model, monitor: r.monitor }, value: Number(r.window_end) });
    }
    for (const [model, v] of overall) gauges.push({ metric: m.driftOverallScore, labels: { model }, value: v });
    // After a promotion the current window still mixes the old version's answers for a while; the gate's figure of the served version shows the improvement at once.
    for (const v of serving.rows) gauges.push({ metric: m.servingEvalAccuracy, labels: { model: v.model, version: v.version }, value: Number(v.acc) });
    for (const r of latestWithData) {
      const res = parsed(r);
      const pair = (current: Gauge<'model'>, baseline: Gauge<'model'>, cur: unknown, base: unknown) => {
        if (num(cur) !== null) gauges.push({ metric: current, labels: { model: r.model }, value: num(cur)! });
        if (num(base) !== null) gauges.push({ metric: baseline, labels: { model: r.model }, value: num(base)! });
      };
      if (r.monitor === 'accuracy') pair(m.modelAccuracy, m.modelAccuracyBaseline, res.gauges?.model_accuracy, res.methods?.eval_accuracy?.baseline);
      if (r.monitor === 'behavior') {
        pair(m.modelRefusalRate, m.modelRefusalRateBaseline, res.gauges?.model_refusal_rate, res.methods?.refusal_rate?.baseline);
        pair(m.modelToxicityRate, m.modelToxicityRateBaseline, res.gauges?.model_toxicity_rate, res.methods?.toxicity_rate?.baseline);
        const c = res.methods?.cost_per_interaction;
        for (const win of ['baseline', 'current'] as const) {
          const v = num(c?.[win]);
          if (v !== null) gauges.push({ metric: m.modelCostPerInteraction, labels: { model: r.model, window: win }, value: v });
        }
      }
    }

    // Counters: zero for every configured model and known label value, then the database's counts.
    const counters = new Map<Counter<string>, Map<string, { labels: Labels; value: number }>>();
    const add = (metric: Counter<string>, labels: Labels, value: number) => {
      const byKey = counters.get(metric) ?? new Map();
      counters.set(metric, byKey);
      const key = JSON.stringify(labels);
      byKey.set(key, { labels, value: (byKey.get(key)?.value ?? 0) + value });
    };
    for (const model of opts.models) {
      for (const monitor of MONITOR_KINDS) for (const status of ['drift', 'no_drift', 'insufficient_data']) add(m.monitorRunsTotal, { model, monitor, status }, 0);
      for (const [action, outcomes] of Object.entries(ACTION_OUTCOMES) as [keyof typeof ACTION_OUTCOMES, readonly string[]][]) {
        add(m.decisionsTotal, { model, action }, 0);
        for (const outcome of outcomes) add(EVENT_COUNTER[action], { model, outcome }, 0);
        for (const state of DECISION_STATES) gauges.push({ metric: m.decisionsByState, labels: { model, action, state }, value: 0 });
      }
      for (const kind of ['model', 'policy']) for (const by of ['manual', 'auto']) add(rollbacksTotal, { model, kind, by }, 0);
    }
    for (const r of rollbacks.rows) add(rollbacksTotal, { model: r.model, kind: r.kind, by: r.who }, Number(r.n));
    for (const r of runCounts.rows) add(m.monitorRunsTotal, { model: r.model, monitor: r.monitor, status: r.status }, Number(r.n));
    const byState = new Map<string, Sample>();
    for (const r of decisionCounts.rows) {
      add(m.decisionsTotal, { model: r.model, action: r.action }, Number(r.n));
      const key = `${r.model}\u0000${r.action}\u0000${r.state}`;
      const prev = byState.get(key);
      byState.set(key, { metric: m.decisionsByState, labels: { model: r.model, action: r.action, state: r.state }, value: (prev?.value ?? 0) + Number(r.n) });
      const counter = EVENT_COUNTER[r.action as keyof typeof ACTION_OUTCOMES];
      if (counter && (r.state === 'succeeded' || r.state === 'failed')) add(counter, { model: r.model, outcome: r.outcome ?? 'failed' }, Number(r.n));
    }
    const appCost = new Map<string, number>(opts.models.map((model) => [model, 0]));
    for (const [model, usd] of cost.byModel) appCost.set(model, usd);

    // One synchronous step from here: no scrape sees a half-set registry.
    const reset = new Set<Gauge<string> | Counter<string>>([
      m.driftEmbeddingScore, m.driftBehaviorScore, m.driftAccuracyScore, m.driftOverallScore, m.monitorPValue, m.monitorDrift, m.lastRunTimestamp, m.lastRunWindowEnd,
      m.modelAccuracy, m.modelRefusalRate, m.modelToxicityRate, m.modelAccuracyBaseline, m.modelRefusalRateBaseline, m.modelToxicityRateBaseline,
      m.modelCostPerInteraction, m.apiCostUsdPerDay, m.decisionsByState, m.servingEvalAccuracy, ...counters.keys(),
    ]);
    for (const metric of reset) metric.reset();
    for (const s of gauges) (s.metric as Gauge<string>).set(s.labels, s.value);
    for (const s of byState.values()) (s.metric as Gauge<string>).set(s.labels, s.value);
    for (const [metric, byKey] of counters) for (const { labels, value } of byKey.values()) metric.inc(labels, value);
    for (const [model, usd] of appCost) {
      m.apiCost.remove({ source: 'application', model });
      m.apiCost.inc({ source: 'application', model }, usd);
    }
  }

  return { refresh };
}
