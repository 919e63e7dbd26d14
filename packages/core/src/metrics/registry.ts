import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The one registry of a Driftwatch process and every metric it can export.
 * Names of the original design are kept as they were; labels are bounded
 * (model, monitor, queue, job name, action, state), never a job or run id.
 *
 * Two kinds of figures live here:
 * - figures of record (drift scores, model rates and their baselines, decisions, action
 *   events, the application's cost): read from the database at scrape time by the
 *   scheduler role only (of-record.ts), so every scrape says the same whatever process
 *   or restart, and a fresh process already shows yesterday's fine-tune;
 * - a process's own work (job timings and counts, its own provider spend): counted by
 *   the process that did it.
 */
export const registry = new Registry();
// Standard names (process_cpu_seconds_total, nodejs_heap_size_used_bytes, ...), as Node.js dashboards expect.
collectDefaultMetrics({ register: registry });

const model = ['model'] as const;

// Drift scores, 0..1 (original design).
export const driftEmbeddingScore = new Gauge({ name: 'drift_embedding_score', help: 'Embedding drift score (0-1) of the latest run', labelNames: model, registers: [registry] });
export const driftBehaviorScore = new Gauge({ name: 'drift_behavior_score', help: 'Behavior drift score (0-1) of the latest run', labelNames: model, registers: [registry] });
export const driftAccuracyScore = new Gauge({ name: 'drift_accuracy_score', help: 'Accuracy drift score (0-1) of the latest run', labelNames: model, registers: [registry] });
export const driftOverallScore = new Gauge({ name: 'drift_overall_score', help: 'Maximum of the embedding, behavior and accuracy drift scores of the latest run', labelNames: model, registers: [registry] });

// Performance of the current window (original design), and of the baseline window of the same run.
export const modelAccuracy = new Gauge({ name: 'model_accuracy', help: 'Evaluation-set accuracy (0-1) in the current window of the latest run with enough data', labelNames: model, registers: [registry] });
export const modelRefusalRate = new Gauge({ name: 'model_refusal_rate', help: 'Refusal rate (0-1) in the current window of the latest run with enough data', labelNames: model, registers: [registry] });
export const modelToxicityRate = new Gauge({ name: 'model_toxicity_rate', help: 'Toxicity rate (0-1) in the current window of the latest run with enough data', labelNames: model, registers: [registry] });
export const modelAccuracyBaseline = new Gauge({ name: 'model_accuracy_baseline', help: 'Evaluation-set accuracy (0-1) in the baseline window of the latest run with enough data', labelNames: model, registers: [registry] });
export const modelRefusalRateBaseline = new Gauge({ name: 'model_refusal_rate_baseline', help: 'Refusal rate (0-1) in the baseline window of the latest run with enough data', labelNames: model, registers: [registry] });
export const modelToxicityRateBaseline = new Gauge({ name: 'model_toxicity_rate_baseline', help: 'Toxicity rate (0-1) in the baseline window of the latest run with enough data', labelNames: model, registers: [registry] });
export const modelCostPerInteraction = new Gauge({ name: 'model_cost_per_interaction_usd', help: "The application's mean cost of one interaction in USD, by window (baseline, current) of the latest behaviour run", labelNames: ['model', 'window'], registers: [registry] });
export const servingEvalAccuracy = new Gauge({ name: 'model_serving_eval_accuracy', help: 'Evaluation-set accuracy the gate measured for the version each model serves (its promoted version), by version', labelNames: ['model', 'version'], registers: [registry] });
export const monitorDrift = new Gauge({ name: 'drift_monitor_drift', help: 'Whether the latest run of a monitor found drift (1) or not (0: no drift or insufficient data)', labelNames: ['model', 'monitor'], registers: [registry] });
export const lastRunTimestamp = new Gauge({ name: 'drift_monitor_last_run_timestamp_seconds', help: 'When the latest run of a monitor was stored (Unix time)', labelNames: ['model', 'monitor'], registers: [registry] });
export const lastRunWindowEnd = new Gauge({ name: 'drift_monitor_window_end_timestamp_seconds', help: 'End of the current window the latest run of a monitor judged (its scheduled tick, Unix time)', labelNames: ['model', 'monitor'], registers: [registry] });

// Events and cost (original design). api_cost_usd_total only ever grows, so it is a counter: rate() over it is the spend rate.
export const retrainEventsTotal = new Counter({ name: 'retrain_events_total', help: 'Fine-tune (retraining) actions carried out', labelNames: ['model', 'outcome'], registers: [registry] });
export const reindexEventsTotal = new Counter({ name: 'reindex_events_total', help: 'Re-index actions carried out', labelNames: ['model', 'outcome'], registers: [registry] });
export const safetyEventsTotal = new Counter({ name: 'safety_events_total', help: 'Safety filter updates carried out', labelNames: ['model', 'outcome'], registers: [registry] });
/**
 * Money spent on model APIs in USD. source="application": what the monitored
 * application spent, per model, from its logged interactions (cost_usd, or tokens x the
 * price table), exported by the scheduler from the database. source="driftwatch":
 * Driftwatch's own provider calls (embeddings, fine-tunes, evaluations), counted by the
 * process that made them, by provider and operation.
 */
export const apiCost = new Counter({ name: 'api_cost_usd_total', help: "Money spent on model APIs in USD: the application's own spend per model (source=application) and Driftwatch's provider calls (source=driftwatch)", labelNames: ['source', 'model', 'provider', 'operation'], registers: [registry] });
/** Driftwatch's own spend on a provider call (source="driftwatch"). */
export const apiCostUsdTotal = {
  inc(labels: { provider: string; operation: string; model?: string }, usd: number): void {
    apiCost.inc({ source: 'driftwatch', ...labels }, usd);
  },
};
export const apiCostUsdPerDay = new Gauge({ name: 'api_cost_usd_per_day', help: "The application's mean spend per day in USD over the drift windows ending now (window=baseline|current)", labelNames: ['model', 'window'], registers: [registry] });

// Monitor detail.
export const monitorPValue = new Gauge({ name: 'drift_monitor_p_value', help: 'Family-wise p-value of the latest monitor run (1 when insufficient data)', labelNames: ['model', 'monitor'], registers: [registry] });
export const monitorRunsTotal = new Counter({ name: 'drift_monitor_runs_total', help: 'Monitor runs by outcome status', labelNames: ['model', 'monitor', 'status'], registers: [registry] });
export const decisionsTotal = new Counter({ name: 'drift_decisions_total', help: 'Decisions taken (stored) by the trigger, by action', labelNames: ['model', 'action'], registers: [registry] });
export const decisionsByState = new Gauge({ name: 'drift_decisions', help: 'Decisions by action and their current state (queued, awaiting_approval, running, succeeded, failed, skipped, rejected)', labelNames: ['model', 'action', 'state'], registers: [registry] });

// Queue and job health.
export const jobDurationSeconds = new Histogram({ name: 'driftwatch_job_duration_seconds', help: 'Time a job spent being processed', labelNames: ['queue', 'name'], buckets: [0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60, 300], registers: [registry] });
export const jobWaitSeconds = new Histogram({ name: 'driftwatch_job_wait_seconds', help: 'Time from a job becoming ready until a worker picked it up', labelNames: ['queue', 'name'], buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 1800], registers: [registry] });
export const jobsCompletedTotal = new Counter({ name: 'driftwatch_jobs_completed_total', help: 'Jobs completed', labelNames: ['queue', 'name'], registers: [registry] });
export const jobsFailedTotal = new Counter({ name: 'driftwatch_jobs_failed_total', help: 'Job attempts that failed (retried or final)', labelNames: ['queue', 'name', 'final'], registers: [registry] });
export const jobsRetriedTotal = new Counter({ name: 'driftwatch_jobs_retried_total', help: 'Failed attempts that will be retried', labelNames: ['queue', 'name'], registers: [registry] });
export const jobsStalledTotal = new Counter({ name: 'driftwatch_jobs_stalled_total', help: 'Jobs whose worker lost its lock and that were handed back', labelNames: ['queue', 'name'], registers: [registry] });
export const jobsRateLimitedTotal = new Counter({ name: 'driftwatch_jobs_rate_limited_total', help: 'Times a provider rate limit paused a queue', labelNames: ['queue', 'name'], registers: [registry] });
export const jobsForeignTotal = new Counter({
  name: 'driftwatch_jobs_foreign_total',
  help: "Jobs of another deployment's database found on this deployment's queues (shared Redis prefix) and left to their owner",
  labelNames: ['queue'],
  registers: [registry],
});
export const reconciledTotal = new Counter({
  name: 'driftwatch_reconciled_total',
  help: 'Repairs made by the reconciler: job schedulers re-created, action jobs re-enqueued, runs retried, orphans recorded',
  labelNames: ['what'],
  registers: [registry],
});
export const queueJobs = new Gauge({
  name: 'driftwatch_queue_jobs',
  help: 'Jobs in a queue by state (waiting includes prioritized jobs; exported by the scheduler only, read from Redis at each scrape)',
  labelNames: ['queue', 'state'],
  registers: [registry],
});

const scrapeHooks = new Set<() => Promise<void>>();
/**
 * Runs `refresh` before each /metrics scrape of this process (e.g. reading queue depth
 * from Redis), so the figures are as fresh as the scrape. Returns the unregister function.
 */
export function onScrape(refresh: () => Promise<void>): () => void {
  scrapeHooks.add(refresh);
  return () => scrapeHooks.delete(refresh);
}
/** Runs the scrape hooks, each bounded by timeoutMs; one that fails or is slow leaves its last values. */
export async function runScrapeHooks(timeoutMs = 2000): Promise<void> {
  await Promise.all(
    [...scrapeHooks].map((h) => Promise.race([h().catch(() => {}), new Promise<void>((r) => setTimeout(r, timeoutMs).unref())])),
  );
}

// Privacy (issue 10): personal data replaced before storage, by kind.
export const piiScrubbedTotal = new Counter({ name: 'driftwatch_pii_scrubbed_total', help: 'Personal data and secrets replaced by the scrubber before storage, by kind', labelNames: ['kind'], registers: [registry] });

// Ingest (issue 10): events by type and per-event status; the backlog, read from the database at each scrape of the scheduler.
export const ingestEventsTotal = new Counter({ name: 'driftwatch_ingest_events_total', help: 'Ingested events by type and per-event status (201 stored, 200 duplicate, 202 held, 400 invalid, 409 conflict, 503 not stored)', labelNames: ['type', 'status'], registers: [registry] });
export const ingestBacklogGauge = new Gauge({ name: 'driftwatch_ingest_backlog', help: 'Ingest backlog: interactions whose embedding is pending or failed, feedback held or expired', labelNames: ['kind'], registers: [registry] });
