import type { MonitorResult } from '../monitors/types.js';
import * as m from './registry.js';

const scoreGauge = { embedding: m.driftEmbeddingScore, behavior: m.driftBehaviorScore, accuracy: m.driftAccuracyScore } as const;
const performanceGauge = { model_accuracy: m.modelAccuracy, model_refusal_rate: m.modelRefusalRate, model_toxicity_rate: m.modelToxicityRate } as const;

/** Sets the gauges of one monitor result. insufficient_data sets the score to 0 and leaves performance gauges alone. */
export function recordMonitorResult(model: string, r: MonitorResult): void {
  scoreGauge[r.kind].set({ model }, r.status === 'insufficient_data' ? 0 : r.score);
  m.monitorPValue.set({ model, monitor: r.kind }, r.p_value ?? 1);
  m.monitorRunsTotal.inc({ model, monitor: r.kind, status: r.status });
  if (r.status === 'insufficient_data') return;
  for (const [k, v] of Object.entries(r.gauges)) {
    if (typeof v === 'number' && Number.isFinite(v)) performanceGauge[k as keyof typeof performanceGauge].set({ model }, v);
  }
}
