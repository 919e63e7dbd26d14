import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The one registry of a Driftwatch process and every metric it can export.
 * Names of the original design are kept as they were; labels are bounded
 * (model, monitor, queue, job name, action, state), never a job or run id.
 */
export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'driftwatch_process_' });

const model = ['model'] as const;

// Drift scores, 0..1 (original design).
export const driftEmbeddingScore = new Gauge({ name: 'drift_embedding_score', help: 'Embedding drift score (0-1) of the latest run', labelNames: model, registers: [registry] });
export const driftBehaviorScore = new Gauge({ name: 'drift_behavior_score', help: 'Behavior drift score (0-1) of the latest run', labelNames: model, registers: [registry] });
export const driftAccuracyScore = new Gauge({ name: 'drift_accuracy_score', help: 'Accuracy drift score (0-1) of the latest run', labelNames: model, registers: [registry] });
export const driftOverallScore = new Gauge({ name: 'drift_overall_score', help: 'Maximum of the embedding, behavior and accuracy drift scores of the latest run', labelNames: model, registers: [registry] });

// Performance of the current window (original design).
export const modelAccuracy = new Gauge({ name: 'model_accuracy', help: 'Evaluation-set accuracy (0-1) in the current window', labelNames: model, registers: [registry] });
export const modelRefusalRate = new Gauge({ name: 'model_refusal_rate', help: 'Refusal rate (0-1) in the current window', labelNames: model, registers: [registry] });
export const modelToxicityRate = new Gauge({ name: 'model_toxicity_rate', help: 'Toxicity rate (0-1) in the current window', labelNames: model, registers: [registry] });

// Events and cost (original design). api_cost_usd_total only ever grows, so it is a counter: rate() over it is the spend rate.
export const retrainEventsTotal = new Counter({ name: 'retrain_events_total', help: 'Fine-tune (retraining) actions carried out', labelNames: ['model', 'outcome'], registers: [registry] });
export const reindexEventsTotal = new Counter({ name: 'reindex_events_total', help: 'Re-index actions carried out', labelNames: ['model', 'outcome'], registers: [registry] });
export const safetyEventsTotal = new Counter({ name: 'safety_events_total', help: 'Safety filter updates carried out', labelNames: ['model', 'outcome'], registers: [registry] });
export const apiCostUsdTotal = new Counter({ name: 'api_cost_usd_total', help: 'Money spent on model provider APIs, in USD', labelNames: ['provider', 'operation'], registers: [registry] });

// Monitor detail.
export const monitorPValue = new Gauge({ name: 'drift_monitor_p_value', help: 'Family-wise p-value of the latest monitor run (1 when insufficient data)', labelNames: ['model', 'monitor'], registers: [registry] });
export const monitorRunsTotal = new Counter({ name: 'drift_monitor_runs_total', help: 'Monitor runs by outcome status', labelNames: ['model', 'monitor', 'status'], registers: [registry] });
export const decisionsTotal = new Counter({ name: 'drift_decisions_total', help: 'Decisions taken by the trigger, by action and state', labelNames: ['model', 'action', 'state'], registers: [registry] });

// Queue and job health.
export const jobDurationSeconds = new Histogram({ name: 'driftwatch_job_duration_seconds', help: 'Time a job spent being processed', labelNames: ['queue', 'name'], buckets: [0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60, 300], registers: [registry] });
export const jobWaitSeconds = new Histogram({ name: 'driftwatch_job_wait_seconds', help: 'Time from a job becoming ready until a worker picked it up', labelNames: ['queue', 'name'], buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 1800], registers: [registry] });
export const jobsCompletedTotal = new Counter({ name: 'driftwatch_jobs_completed_total', help: 'Jobs completed', labelNames: ['queue', 'name'], registers: [registry] });
export const jobsFailedTotal = new Counter({ name: 'driftwatch_jobs_failed_total', help: 'Job attempts that failed (retried or final)', labelNames: ['queue', 'name', 'final'], registers: [registry] });
export const jobsRetriedTotal = new Counter({ name: 'driftwatch_jobs_retried_total', help: 'Failed attempts that will be retried', labelNames: ['queue', 'name'], registers: [registry] });
export const jobsStalledTotal = new Counter({ name: 'driftwatch_jobs_stalled_total', help: 'Jobs whose worker lost its lock and that were handed back', labelNames: ['queue', 'name'], registers: [registry] });
export const jobsRateLimitedTotal = new Counter({ name: 'driftwatch_jobs_rate_limited_total', help: 'Times a provider rate limit paused a queue', labelNames: ['queue', 'name'], registers: [registry] });
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
