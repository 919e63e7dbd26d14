import type { MonitorKind, MonitorResult } from './types.js';


/** The result of a window too small to judge: never drift, score 0, no p-value. */
export function insufficientData(kind: MonitorKind, nBaseline: number, nCurrent: number, minSamples: number, what = 'rows'): MonitorResult {
  return {
    kind,
    status: 'insufficient_data',
    score: 0,
    severity: 'none',
    p_value: null,
    n_baseline: nBaseline,
    n_current: nCurrent,
    methods: {},
    gauges: {},
    reason: `baseline has ${nBaseline} ${what} and current ${nCurrent}; at least min_samples=${minSamples} are needed on each side`,
  };
}

/**
 * A judged window's result: `drift` or `no_drift`, the score rounded, and severity
 * `significant` when drifting with a score of at least `significantScore`, `moderate`
 * when drifting below it, `none` otherwise.
 */
export function judged(
  kind: MonitorKind,
  v: { drift: boolean; score: number; p_value: number; significantScore: number; n_baseline: number; n_current: number; reason: string } & Pick<MonitorResult, 'methods' | 'gauges'>,
): MonitorResult {
  return {
    kind,
    status: v.drift ? 'drift' : 'no_drift',
    score: r(v.score, 4) ?? 0,
    severity: v.drift ? (v.score >= v.significantScore ? 'significant' : 'moderate') : 'none',
    p_value: r(v.p_value),
    n_baseline: v.n_baseline,
    n_current: v.n_current,
    methods: v.methods,
    gauges: v.gauges,
    reason: v.reason,
  };
}

/** Rounded to `digits` significant digits for reports (keeps results readable, JSON small, and tiny p-values intact); null/NaN become null. */
export function r(x: number | null | undefined, digits = 6): number | null {
  if (x === null || x === undefined || !Number.isFinite(x)) return null;
  return Number(x.toPrecision(digits));
}

/** p-value formatting for reason sentences. */
export function fmtP(p: number): string {
  return p < 1e-4 ? p.toExponential(1) : p.toPrecision(2);
}

/**
 * The behaviour/accuracy score of one change: 1 - exp(-change / threshold), 0
 * for no or favourable change. A change equal to its threshold scores 0.63,
 * twice the threshold 0.86, three times 0.95.
 */
export function thresholdScore(change: number, threshold: number): number {
  if (!(change > 0)) return 0;
  if (!(threshold > 0)) return 1;
  return 1 - Math.exp(-change / threshold);
}
