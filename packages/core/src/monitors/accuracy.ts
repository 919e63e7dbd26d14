import type { AccuracyThresholds, MonitorSettings } from '../config/schema.js';
import { compareProportions } from '../stats/proportions.js';
import { mannWhitneyFromCounts } from '../stats/ranks.js';
import { fmtP, insufficientData, judged, r, thresholdScore } from './common.js';
import type { AccuracyWindow, MethodResult, MonitorResult } from './types.js';

const SIGNIFICANT_SCORE = 1 - Math.exp(-2);

export interface AccuracyRow {
  correct?: boolean | null;
  expected?: string | null;
  predicted?: string | null;
  /** User feedback 1..5 (rounded to the nearest integer). */
  score?: number | null;
  task_success?: boolean | null;
}

/** Labels are compared after trimming, collapsing white space and lower-casing. */
export function normaliseLabel(s: string): string {
  return s.trim().replace(/\s+/g, ' ').toLowerCase();
}

/** An empty window. */
export function emptyAccuracyWindow(): AccuracyWindow {
  return { eval_total: 0, eval_correct: 0, feedback_counts: [0, 0, 0, 0, 0], task_total: 0, task_success: 0, labels: {} };
}

/**
 * Aggregates rows into an AccuracyWindow (what SQL computes with COUNT/SUM).
 * A row counts as an evaluation when it has `correct`, or both `expected` and
 * `predicted` (then correct = labels equal after normaliseLabel, and the labels
 * feed the per-class confusion counts). `score` counts as feedback, `task_success`
 * as a task outcome; one row may carry several.
 * @throws RangeError when a score is not a number in [1, 5].
 */
export function accuracyWindowFrom(rows: AccuracyRow[]): AccuracyWindow {
  const w = emptyAccuracyWindow();
  rows.forEach((row, i) => {
    const hasLabels = typeof row.expected === 'string' && typeof row.predicted === 'string';
    if (typeof row.correct === 'boolean' || hasLabels) {
      w.eval_total++;
      const e = hasLabels ? normaliseLabel(row.expected as string) : '';
      const p = hasLabels ? normaliseLabel(row.predicted as string) : '';
      const correct = typeof row.correct === 'boolean' ? row.correct : e === p;
      if (correct) w.eval_correct++;
      if (hasLabels) {
        const cell = (l: string) => (w.labels[l] ??= { tp: 0, fp: 0, fn: 0 });
        if (e === p) cell(e).tp++;
        else {
          cell(p).fp++;
          cell(e).fn++;
        }
      }
    }
    if (row.score !== null && row.score !== undefined) {
      const sc = row.score;
      if (typeof sc !== 'number' || !Number.isFinite(sc) || sc < 1 || sc > 5) throw new RangeError(`row ${i}: feedback score must be a number from 1 to 5, got ${JSON.stringify(sc)}`);
      w.feedback_counts[Math.round(sc) - 1]++;
    }
    if (typeof row.task_success === 'boolean') {
      w.task_total++;
      if (row.task_success) w.task_success++;
    }
  });
  return w;
}

/** Macro-averaged precision, recall and F1 over the labels seen (null without labels). */
export function macroScores(w: AccuracyWindow): { precision: number; recall: number; f1: number } | null {
  const labels = Object.values(w.labels);
  if (labels.length === 0) return null;
  let p = 0;
  let rc = 0;
  let f = 0;
  for (const { tp, fp, fn } of labels) {
    const prec = tp + fp ? tp / (tp + fp) : 0;
    const rec = tp + fn ? tp / (tp + fn) : 0;
    p += prec;
    rc += rec;
    f += prec + rec ? (2 * prec * rec) / (prec + rec) : 0;
  }
  return { precision: p / labels.length, recall: rc / labels.length, f1: f / labels.length };
}

function feedbackStats(counts: number[]): { n: number; mean: number } {
  let n = 0;
  let s = 0;
  counts.forEach((c, k) => {
    n += c;
    s += c * (k + 1);
  });
  return { n, mean: n ? s / n : NaN };
}

/**
 * Accuracy drift between two aggregated windows.
 *
 * Tested components (each only when both windows hold at least `s.min_samples`
 * observations of it; otherwise reported with p_value null):
 * - `eval_accuracy`: eval_correct / eval_total; one-sided two-proportion z test
 *   (Fisher's exact test when an expected count < 5) that current is lower.
 * - `feedback`: mean user score 1..5; one-sided Mann-Whitney test on the score
 *   counts (midranks, tie-corrected) that current scores are lower.
 * - `task_success`: task_success / task_total, tested like eval accuracy.
 * `value` of each is the RELATIVE drop (baseline - current) / baseline, as the
 * original design's thresholds are relative (`accuracy_threshold` 0.05 = a 5% drop,
 * `feedback_threshold` 0.30, `task_success_threshold`). A component is `flagged` iff
 * p < alpha / k (k = components tested, Bonferroni) AND the relative drop >= its threshold.
 * Descriptive only: `precision`, `recall`, `f1` (macro averages over labels) when
 * expected/predicted labels exist.
 *
 * Status: `drift` iff a component is flagged; `insufficient_data` when no component
 * can be tested. `p_value` = min(1, k x min p).
 * Score (0..1): the largest component score 1 - exp(-drop / threshold); a drop equal
 * to the threshold scores 0.63, twice 0.86. The original demo (accuracy 92% -> 78%:
 * drop 15.2% = 3.04 thresholds) scores 0.95. Severity: `none` without drift;
 * `significant` when drift and score >= 0.865 (a drop of twice the threshold); else `moderate`.
 * Gauge: model_accuracy = current evaluation accuracy.
 */
export function accuracyMonitor(baseline: AccuracyWindow, current: AccuracyWindow, t: AccuracyThresholds, s: MonitorSettings): MonitorResult {
  const fb = feedbackStats(baseline.feedback_counts);
  const fc = feedbackStats(current.feedback_counts);
  const nb = Math.max(baseline.eval_total, fb.n, baseline.task_total);
  const nc = Math.max(current.eval_total, fc.n, current.task_total);
  const methods: Record<string, MethodResult> = {};
  const gauges: MonitorResult['gauges'] = {};
  if (current.eval_total > 0) gauges.model_accuracy = r(current.eval_correct / current.eval_total) ?? 0;

  interface Component {
    name: string;
    nb: number;
    nc: number;
    base: number;
    cur: number;
    threshold: number;
    test: () => number;
  }
  const components: Component[] = [
    {
      name: 'eval_accuracy',
      nb: baseline.eval_total,
      nc: current.eval_total,
      base: baseline.eval_correct / baseline.eval_total,
      cur: current.eval_correct / current.eval_total,
      threshold: t.accuracy_threshold,
      test: () => compareProportions(baseline.eval_correct, baseline.eval_total, current.eval_correct, current.eval_total, 'less').p_value,
    },
    {
      name: 'feedback',
      nb: fb.n,
      nc: fc.n,
      base: fb.mean,
      cur: fc.mean,
      threshold: t.feedback_threshold,
      test: () => mannWhitneyFromCounts(baseline.feedback_counts, current.feedback_counts, 'greater').p_value,
    },
    {
      name: 'task_success',
      nb: baseline.task_total,
      nc: current.task_total,
      base: baseline.task_success / baseline.task_total,
      cur: current.task_success / current.task_total,
      threshold: t.task_success_threshold,
      test: () => compareProportions(baseline.task_success, baseline.task_total, current.task_success, current.task_total, 'less').p_value,
    },
  ];
  const tested: { c: Component; p: number; drop: number; method: MethodResult }[] = [];
  for (const c of components) {
    if (c.nb === 0 && c.nc === 0) continue;
    const drop = c.nb && c.nc && c.base > 0 ? (c.base - c.cur) / c.base : null;
    const method: MethodResult = { baseline: c.nb ? r(c.base) : null, current: c.nc ? r(c.cur) : null, value: r(drop), p_value: null, n_baseline: c.nb, n_current: c.nc, threshold: c.threshold, flagged: false };
    methods[c.name] = method;
    if (c.nb < s.min_samples || c.nc < s.min_samples || drop === null) {
      method.note = `not tested: fewer than min_samples=${s.min_samples} observations in a window`;
      continue;
    }
    const p = c.test();
    method.p_value = r(p);
    tested.push({ c, p, drop, method });
  }
  const mb = macroScores(baseline);
  const mc = macroScores(current);
  if (mb || mc)
    for (const key of ['precision', 'recall', 'f1'] as const)
      methods[key] = { baseline: mb ? r(mb[key]) : null, current: mc ? r(mc[key]) : null, value: mb && mc ? r(mb[key] - mc[key]) : null, macro: true };

  if (tested.length === 0) {
    const res = insufficientData('accuracy', nb, nc, s.min_samples, 'observations');
    return { ...res, methods, gauges };
  }
  const k = tested.length;
  const share = s.alpha / k;
  for (const x of tested) x.method.flagged = x.p < share && x.drop >= x.c.threshold;
  const flagged = tested.filter((x) => x.method.flagged);
  const pValue = Math.min(1, k * Math.min(...tested.map((x) => x.p)));
  const score = Math.max(0, ...tested.map((x) => thresholdScore(x.drop, x.c.threshold)));
  const drift = flagged.length > 0;
  const describe = (x: (typeof tested)[number]) =>
    `${x.c.name} ${fmt(x.c.name, x.c.base)} -> ${fmt(x.c.name, x.c.cur)} (drop ${(x.drop * 100).toFixed(1)}%, threshold ${(x.c.threshold * 100).toFixed(0)}%, p=${fmtP(x.p)})`;
  const reason = drift
    ? `drift: ${flagged.map(describe).join('; ')}; significant at alpha/${k}=${fmtP(share)}`
    : `no drift: no significant drop (alpha/${k}=${fmtP(share)}) at or over its threshold; ${tested.map(describe).join('; ')}`;
  return judged('accuracy', { drift, score, p_value: pValue, significantScore: SIGNIFICANT_SCORE, n_baseline: nb, n_current: nc, methods, gauges, reason });
}

function fmt(name: string, x: number): string {
  return name === 'feedback' ? x.toFixed(2) : `${(x * 100).toFixed(1)}%`;
}
