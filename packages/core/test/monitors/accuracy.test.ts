import { describe, expect, it } from 'vitest';
import { accuracyThresholdsSchema } from '../../src/config/schema.js';
import { accuracyMonitor, accuracyWindowFrom, macroScores } from '../../src/monitors/accuracy.js';
import type { AccuracyWindow } from '../../src/monitors/types.js';

const t = accuracyThresholdsSchema.parse({});
const s = { min_samples: 100, alpha: 0.05, seed: 1 };
const evalWindow = (total: number, correct: number): AccuracyWindow => ({ eval_total: total, eval_correct: correct, feedback_counts: [0, 0, 0, 0, 0], task_total: 0, task_success: 0, labels: {} });

describe('accuracyWindowFrom', () => {
  it('aggregates evaluations, labels, feedback and task outcomes', () => {
    const w = accuracyWindowFrom([
      { correct: true },
      { correct: false },
      { expected: 'Paris', predicted: ' paris ' },
      { expected: 'cat', predicted: 'dog' },
      { score: 5 },
      { score: 4.4 },
      { task_success: true },
      { task_success: false, score: 1 },
    ]);
    expect(w.eval_total).toBe(4);
    expect(w.eval_correct).toBe(2);
    expect(w.feedback_counts).toEqual([1, 0, 0, 1, 1]);
    expect(w.task_total).toBe(2);
    expect(w.task_success).toBe(1);
    expect(w.labels).toEqual({ paris: { tp: 1, fp: 0, fn: 0 }, dog: { tp: 0, fp: 1, fn: 0 }, cat: { tp: 0, fp: 0, fn: 1 } });
    // precision: paris 1, dog 0, cat 0 -> 1/3; recall: paris 1, dog 0, cat 0 -> 1/3
    expect(macroScores(w)?.precision).toBeCloseTo(1 / 3, 12);
  });
  it('rejects feedback outside 1..5', () => {
    expect(() => accuracyWindowFrom([{ score: 6 }])).toThrow(/row 0.*1 to 5/);
  });
});

describe('accuracyMonitor', () => {
  it('the demo drop 92% -> 78% is drift with a high score', () => {
    const res = accuracyMonitor(evalWindow(500, 460), evalWindow(500, 390), t, s);
    expect(res.status).toBe('drift');
    // relative drop (0.92-0.78)/0.92 = 0.1522 = 3.04 thresholds -> 1 - exp(-3.04) = 0.952
    expect(res.score).toBeCloseTo(0.952, 2);
    expect(res.severity).toBe('significant');
    expect(res.methods.eval_accuracy).toMatchObject({ baseline: 0.92, current: 0.78, flagged: true });
    expect(res.gauges.model_accuracy).toBe(0.78);
  });

  it('one-sided p-value matches a hand computation', () => {
    // 460/500 vs 440/500: pooled .9, se = sqrt(.9*.1*(2/500)) = .0189737, z = .04/.0189737 = 2.10819, p = .017505
    const res = accuracyMonitor(evalWindow(500, 460), evalWindow(500, 440), t, s);
    expect(res.methods.eval_accuracy.p_value).toBeCloseTo(0.017505, 4);
    // drop 4.3% < 5% threshold: not flagged even though p < alpha
    expect(res.methods.eval_accuracy.flagged).toBe(false);
    expect(res.status).toBe('no_drift');
  });

  it('an improvement is never drift', () => {
    const res = accuracyMonitor(evalWindow(500, 390), evalWindow(500, 460), t, s);
    expect(res.status).toBe('no_drift');
    expect(res.score).toBe(0);
  });

  it('tests feedback and task success', () => {
    const base: AccuracyWindow = { ...evalWindow(0, 0), feedback_counts: [5, 5, 20, 70, 100], task_total: 300, task_success: 270 };
    const cur: AccuracyWindow = { ...evalWindow(0, 0), feedback_counts: [80, 50, 30, 20, 20], task_total: 300, task_success: 200 };
    const res = accuracyMonitor(base, cur, t, s);
    expect(res.methods.feedback.flagged).toBe(true);
    expect(res.methods.feedback.baseline as number).toBeGreaterThan(4);
    expect(res.methods.task_success.flagged).toBe(true);
    expect(res.status).toBe('drift');
    expect(res.gauges.model_accuracy).toBeUndefined();
  });

  it('reports insufficient_data when no component has min_samples on both sides', () => {
    const res = accuracyMonitor(evalWindow(50, 46), evalWindow(500, 100), t, s);
    expect(res).toMatchObject({ status: 'insufficient_data', score: 0, p_value: null });
    expect(res.methods.eval_accuracy.p_value).toBeNull();
  });
});
