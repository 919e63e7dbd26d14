import { afterAll, describe, expect, it } from 'vitest';
import { StatsPool, driftConfigSchema, embeddingMonitor, runMonitorTask, type Matrix } from '@driftwatch/core';

function gaussianMatrix(rows: number, cols: number, shift: number, seed: number): Matrix {
  let s = seed >>> 0;
  const u = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 0.5) / 4294967296;
  const data = new Float32Array(rows * cols);
  for (let i = 0; i < data.length; i++) data[i] = Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u()) + shift;
  return { rows, cols, data };
}

/** Heavy statistics run on worker threads (from the .ts source here, through tsx), off the event loop. */
describe('statistics pool', () => {
  const pool = new StatsPool(2);
  afterAll(() => pool.close());
  const cfg = driftConfigSchema.parse({ models: [{ name: 'm' }], embedding_thresholds: { permutations: 200, max_sample: 600 } });
  const settings = { min_samples: 50, alpha: cfg.alpha, seed: 3 };
  const strip = (r: { timings_ms?: unknown }) => ({ ...r, timings_ms: undefined });

  it('gives the same result as computing in this thread, and keeps the event loop free meanwhile', async () => {
    const baseline = gaussianMatrix(600, 64, 0, 1);
    const current = gaussianMatrix(600, 64, 0.4, 2);
    const task = { kind: 'embedding' as const, baseline, current, thresholds: cfg.embedding_thresholds, settings };
    const inline = runMonitorTask(task);
    // Longest gap between timer ticks while the pool computes: a blocked loop would show the whole computation.
    let last = performance.now();
    let worst = 0;
    const tick = setInterval(() => {
      const t = performance.now();
      worst = Math.max(worst, t - last);
      last = t;
    }, 10);
    const t0 = performance.now();
    const [a, b] = await Promise.all([pool.run(task), pool.run(task)]);
    const took = performance.now() - t0;
    clearInterval(tick);
    expect(strip(a)).toEqual(strip(inline));
    expect(strip(b)).toEqual(strip(inline));
    expect(inline.status).toBe('drift');
    // The loop ticked throughout (a generous bound for a loaded 2-core machine), far below the computation's own time.
    expect(worst).toBeLessThan(Math.max(500, took / 4));
    expect(embeddingMonitor).toBeTypeOf('function');
  });

  it('reports an error thrown in a thread as a rejected task and keeps serving', async () => {
    const bad = { kind: 'embedding' as const, baseline: { rows: 100, cols: 4, data: new Float32Array(400) }, current: { rows: 100, cols: 5, data: new Float32Array(500) }, thresholds: cfg.embedding_thresholds, settings };
    await expect(pool.run(bad)).rejects.toThrow();
    const ok = await pool.run({ kind: 'accuracy', baseline: acc(100, 90), current: acc(100, 60), thresholds: cfg.accuracy_thresholds, settings });
    expect(ok.kind).toBe('accuracy');
  });
});

function acc(total: number, correct: number) {
  return { eval_total: total, eval_correct: correct, feedback_counts: [0, 0, 0, 0, 0] as [number, number, number, number, number], task_total: 0, task_success: 0, labels: {} };
}
