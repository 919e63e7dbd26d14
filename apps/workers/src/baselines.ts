import {
  MONITOR_KINDS,
  accuracyWindow,
  sampleEmbeddings,
  sampleInteractions,
  storeBaseline,
  storeModeration,
  windowsFor,
  type BaselineSample,
  type FrozenBaseline,
  type MonitorKind,
  type TimeWindow,
} from '@driftwatch/core';
import type { MonitorDeps } from './processors/monitor.js';

/**
 * Freezes a model's baseline: samples `window` (default: the rolling baseline window as of
 * now) once per monitor exactly as a run would (same seeded sampler, same sample sizes),
 * moderates the behaviour sample, and stores sample and figures as the baseline in force.
 * Every later run compares its current window with it until it is replaced or released.
 * One transaction: either every monitor's baseline is replaced or none is.
 */
export async function freezeBaselines(
  deps: MonitorDeps,
  model: string,
  opts: { window?: TimeWindow; now?: Date; monitors?: readonly MonitorKind[] } = {},
): Promise<FrozenBaseline[]> {
  const cfg = deps.config;
  const w = opts.window ?? windowsFor(opts.now ?? new Date(), cfg.baseline_days, cfg.current_days).baseline;
  if (!(w.start < w.end)) throw new Error(`baseline window is empty: ${w.start.toISOString()} is not before ${w.end.toISOString()}`);
  const monitors = opts.monitors ?? MONITOR_KINDS;
  // Read everything first (outside the transaction), then replace in one go.
  const samples: BaselineSample[] = [];
  for (const monitor of monitors) {
    if (monitor === 'embedding') {
      samples.push({ monitor, sample: await sampleEmbeddings(deps.db, model, w, cfg.embedding_thresholds.max_sample, cfg.seed) });
    } else if (monitor === 'behavior') {
      const rows = await sampleInteractions(deps.db, model, w, cfg.behavior_thresholds.max_sample, cfg.seed);
      const unmoderated = rows.filter((r) => r.toxic === null || r.toxic === undefined);
      if (unmoderated.length) {
        const verdicts = await deps.moderation.moderate(unmoderated.map((r) => r.response));
        unmoderated.forEach((r, i) => (r.toxic = verdicts[i].flagged));
        await storeModeration(deps.db, unmoderated.map((r, i) => ({ id: r.id, ...verdicts[i] })));
      }
      samples.push({ monitor, sample: rows });
    } else {
      samples.push({ monitor, sample: await accuracyWindow(deps.db, model, w) });
    }
  }
  return deps.db.transaction(async (tx) => {
    const out: FrozenBaseline[] = [];
    for (const s of samples) out.push(await storeBaseline(tx, model, w, cfg.seed, s));
    return out;
  });
}
