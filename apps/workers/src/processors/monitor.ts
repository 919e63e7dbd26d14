import {
  PermanentError,
  accuracyMonitor,
  accuracyWindow,
  behaviorMonitor,
  embeddingMonitor,
  recordMonitorResult,
  sampleEmbeddings,
  sampleInteractions,
  storeDriftRun,
  storeModeration,
  windowsFor,
  type AppContext,
  type MonitorResult,
  type Processor,
} from '@driftwatch/core';

/**
 * A monitor job: read the baseline and current windows, compute, store, set gauges.
 * The returned result reaches the run's trigger job.
 */
export function monitorProcessor(ctx: AppContext): Processor<'monitor', MonitorResult> {
  return async (_job, data) => {
    const cfg = ctx.config;
    if (!cfg.models.some((m) => m.name === data.model)) throw new PermanentError(`model "${data.model}" is not in the configuration's models`);
    const windows = windowsFor(new Date(data.now), cfg.baseline_days, cfg.current_days);
    const settings = { min_samples: cfg.min_samples, alpha: cfg.alpha, seed: cfg.seed };
    let result: MonitorResult;
    if (data.monitor === 'embedding') {
      const t = cfg.embedding_thresholds;
      const baseline = await sampleEmbeddings(ctx.db, data.model, windows.baseline, t.max_sample);
      const current = await sampleEmbeddings(ctx.db, data.model, windows.current, t.max_sample);
      if (baseline.rows && current.rows && baseline.cols !== current.cols) {
        throw new PermanentError(`baseline embeddings have ${baseline.cols} dimensions and current ones ${current.cols}: the embedding model changed; re-baseline before comparing`);
      }
      result = embeddingMonitor(baseline, current, t, settings);
    } else if (data.monitor === 'behavior') {
      const t = cfg.behavior_thresholds;
      const baseline = await sampleInteractions(ctx.db, data.model, windows.baseline, t.max_sample);
      const current = await sampleInteractions(ctx.db, data.model, windows.current, t.max_sample);
      const unmoderated = [...baseline, ...current].filter((r) => r.toxic === null || r.toxic === undefined);
      if (unmoderated.length) {
        const verdicts = await ctx.providers.moderation.moderate(unmoderated.map((r) => r.response));
        unmoderated.forEach((r, i) => (r.toxic = verdicts[i].flagged));
        await storeModeration(ctx.db, unmoderated.map((r, i) => ({ id: r.id, ...verdicts[i] })));
      }
      result = behaviorMonitor(baseline, current, t, settings);
    } else {
      const baseline = await accuracyWindow(ctx.db, data.model, windows.baseline);
      const current = await accuracyWindow(ctx.db, data.model, windows.current);
      result = accuracyMonitor(baseline, current, cfg.accuracy_thresholds, settings);
    }
    const stored = await storeDriftRun(ctx.db, data.run_id, data.model, windows, result);
    recordMonitorResult(data.model, stored.result);
    return stored.result;
  };
}
