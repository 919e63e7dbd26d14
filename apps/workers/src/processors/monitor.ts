import {
  PermanentError,
  accuracyWindow,
  runReferences,
  hasBaselines,
  sampleEmbeddings,
  sampleInteractions,
  runMonitorTask,
  statsPool,
  storeDriftRun,
  storeModeration,
  windowsFor,
  servedCurrentWindow,
  servedWindow,
  type AppContext,
  type DriftConfig,
  type Db,
  type FrozenBaseline,
  type InteractionRecord,
  type ModerationProvider,
  type MonitorKind,
  type MonitorResult,
  type Processor,
  type StatsPool,
} from '@driftwatch/core';

/** What a monitor run needs besides its job: the database, the configuration, moderation. */
export interface MonitorDeps {
  db: Db;
  config: DriftConfig;
  moderation: ModerationProvider;
  /** Where the statistics run: a pool of worker threads (default: the process's statsPool()). */
  pool?: StatsPool;
}

/**
 * One monitor of one model at `now`: sample (or aggregate) both windows in SQL, compute,
 * and return the result with `timings_ms` covering the whole run: `sampling` (both
 * windows' reads), `moderation` (behavior: provider calls and storing verdicts),
 * `statistics` (the monitor function on a pool thread, waiting for a free thread included),
 * the monitor's own per-method figures (`compute` is its own total), and `total` =
 * everything from the first read to the result.
 */
export async function computeMonitor(
  deps: MonitorDeps,
  model: string,
  monitor: MonitorKind,
  now: Date,
): Promise<{ result: MonitorResult; windows: ReturnType<typeof windowsFor>; baseline: FrozenBaseline | null }> {
  const cfg = deps.config;
  const pool = deps.pool ?? statsPool();
  const t0 = performance.now();
  const windows = windowsFor(now, cfg.baseline_days, cfg.current_days);
  // A frozen baseline in force replaces the rolling baseline window's sample (and its window in the stored run).
  const tf = performance.now();
  // A version promoted inside the current window: judge only the traffic it served (a promotion is not drift).
  // Both questions in one query where the baselines table exists (migration 000006).
  const refs = (await baselinesReady(deps.db))
    ? await runReferences(deps.db, model, monitor, windows.current)
    : { baseline: null, promotion: (await servedCurrentWindow(deps.db, model, windows.current)).promotion };
  const frozen = refs.baseline;
  if (frozen) windows.baseline = { start: frozen.window_start, end: frozen.window_end };
  const served = servedWindow(windows.current, refs.promotion);
  windows.current = served.window;
  const settings = { min_samples: cfg.min_samples, alpha: cfg.alpha, seed: cfg.seed };
  const timings: Record<string, number> = {};
  const lap = (name: string, since: number) => (timings[name] = Math.round(performance.now() - since));
  lap('baseline_lookup', tf);
  const timed = async <T>(fn: () => Promise<T>): Promise<T> => {
    const ts = performance.now();
    const out = await fn();
    lap('statistics', ts);
    return out;
  };
  let result: MonitorResult;
  if (monitor === 'embedding') {
    const t = cfg.embedding_thresholds;
    const ts = performance.now();
    const baseline = frozen?.embeddings ?? (await sampleEmbeddings(deps.db, model, windows.baseline, t.max_sample, cfg.seed));
    const current = await sampleEmbeddings(deps.db, model, windows.current, t.max_sample, cfg.seed);
    lap('sampling', ts);
    if (baseline.rows && current.rows && baseline.cols !== current.cols) {
      throw new PermanentError(`baseline embeddings have ${baseline.cols} dimensions and current ones ${current.cols}: the embedding model changed; re-baseline before comparing`);
    }
    result = await timed(() => pool.run({ kind: 'embedding', baseline, current, thresholds: t, settings }));
  } else if (monitor === 'behavior') {
    const t = cfg.behavior_thresholds;
    const ts = performance.now();
    const baseline: (InteractionRecord & { id?: number })[] = frozen?.interactions ?? (await sampleInteractions(deps.db, model, windows.baseline, t.max_sample, cfg.seed));
    const current = await sampleInteractions(deps.db, model, windows.current, t.max_sample, cfg.seed);
    lap('sampling', ts);
    const unmoderated = [...baseline, ...current].filter((r) => r.toxic === null || r.toxic === undefined);
    if (unmoderated.length) {
      const tm = performance.now();
      const verdicts = await deps.moderation.moderate(unmoderated.map((r) => r.response));
      unmoderated.forEach((r, i) => (r.toxic = verdicts[i].flagged));
      const logged = unmoderated.flatMap((r, i) => (r.id === undefined ? [] : [{ id: r.id, ...verdicts[i] }]));
      await storeModeration(deps.db, logged);
      lap('moderation', tm);
    }
    result = await timed(() => pool.run({ kind: 'behavior', baseline, current, thresholds: t, settings }));
  } else {
    const ts = performance.now();
    const baseline = frozen?.accuracy ?? (await accuracyWindow(deps.db, model, windows.baseline));
    const current = await accuracyWindow(deps.db, model, windows.current);
    lap('sampling', ts);
    // A handful of proportions tests on aggregated counts: microseconds, so computed here rather
    // than queued behind embedding work on the pool.
    result = await timed(async () => runMonitorTask({ kind: 'accuracy', baseline, current, thresholds: cfg.accuracy_thresholds, settings }));
  }
  const own = result.timings_ms ?? {};
  const monitorTotal = own.total;
  result.timings_ms = { ...own, ...(monitorTotal !== undefined ? { compute: monitorTotal } : {}), ...timings, total: Math.round(performance.now() - t0) };
  if (frozen) result.reason += ` (against frozen baseline ${frozen.id}: ${frozen.window_start.toISOString()} to ${frozen.window_end.toISOString()})`;
  if (served.promotion) result.reason += ` (current window from the promotion of ${served.promotion.version} at ${served.promotion.promoted_at.toISOString()})`;
  return { result, windows, baseline: frozen };
}

const ready = new WeakMap<Db, boolean>();
/** Whether the baselines table exists (migration 000006), asked once per database. */
async function baselinesReady(db: Db): Promise<boolean> {
  let r = ready.get(db);
  if (r === undefined) ready.set(db, (r = await hasBaselines(db)));
  return r;
}

/**
 * A monitor job: read the baseline and current windows, compute, store, set gauges.
 * The returned result reaches the run's trigger job.
 */
export function monitorProcessor(ctx: AppContext): Processor<'monitor', MonitorResult> {
  return async (_job, data) => {
    if (!ctx.config.models.some((m) => m.name === data.model)) throw new PermanentError(`model "${data.model}" is not in the configuration's models`);
    const t0 = performance.now();
    const { result, windows, baseline } = await computeMonitor({ db: ctx.db, config: ctx.config, moderation: ctx.providers.moderation }, data.model, data.monitor, new Date(data.now));
    // total: from the job's start to a complete result (the config check included); the store follows.
    result.timings_ms = { ...result.timings_ms, total: Math.round(performance.now() - t0) };
    const stored = await storeDriftRun(ctx.db, data.run_id, data.model, windows, result, baseline?.id ?? null);
    return stored.result;
  };
}
