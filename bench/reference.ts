/**
 * Reference two-sample tests computed beside Driftwatch in bench/power.ts: the
 * single methods of the field, each run alone at level alpha on the full
 * dimension (no projection, no combination).
 * - `linearClassifier`: 5-fold cross-validated linear domain classifier (ridge
 *   Fisher discriminant on all d standardised coordinates), statistic = out-of-fold
 *   AUC, p-value by label permutations.
 * - `mmdExact`: permutation test of the exact (quadratic-time) RBF-kernel MMD^2 at
 *   several bandwidths (multiples of the median pairwise distance), one p-value each.
 * - `ksOnComponents`: KS on each of the 10 leading principal components of the
 *   pooled sample, Bonferroni over the components.
 */
import type { Matrix, Rng } from '../packages/core/src/monitors/types.js';
import { domainClassifierTest } from '../packages/core/src/stats/classifier.js';
import { ksTwoSample } from '../packages/core/src/stats/ks.js';
import { stack } from '../packages/core/src/stats/matrix.js';
import { column, pcaFit, pcaTransform } from '../packages/core/src/stats/pca.js';
import { randInt } from '../packages/core/src/stats/rng.js';

export function linearClassifier(x: Matrix, y: Matrix, permutations: number, rng: Rng): { p: number; auc: number } {
  const res = domainClassifierTest(x, y, { permutations, rng, statistic: 'auc' });
  return { p: res.p_value, auc: res.auc };
}

/** p-value per bandwidth (scale x median pairwise distance of the pooled rows). */
export function mmdExact(x: Matrix, y: Matrix, scales: number[], permutations: number, rng: Rng): number[] {
  const n = x.rows;
  const m = y.rows;
  const N = n + m;
  const d = x.cols;
  const pooled = stack(x, y).data;
  const norms = new Float64Array(N);
  for (let i = 0; i < N; i++) {
    let s = 0;
    for (let c = 0; c < d; c++) s += pooled[i * d + c] ** 2;
    norms[i] = s;
  }
  // Squared distances, upper triangle kept in a full N x N Float32 matrix.
  const d2 = new Float32Array(N * N);
  for (let i = 0; i < N; i++) {
    const oi = i * d;
    for (let j = i + 1; j < N; j++) {
      const oj = j * d;
      let s = 0;
      for (let c = 0; c < d; c++) s += pooled[oi + c] * pooled[oj + c];
      const v = Math.max(0, norms[i] + norms[j] - 2 * s);
      d2[i * N + j] = v;
      d2[j * N + i] = v;
    }
  }
  const sample: number[] = [];
  for (let t = 0; t < 20000; t++) {
    const i = randInt(rng, N);
    let j = randInt(rng, N - 1);
    if (j >= i) j++;
    sample.push(d2[i * N + j]);
  }
  sample.sort((a, b) => a - b);
  const median2 = sample[sample.length >> 1] || 1; // median squared distance
  const a = new Float64Array(N);
  const statistic = (k: Float32Array, labels: Uint8Array): number => {
    for (let i = 0; i < N; i++) a[i] = labels[i] ? -1 / m : 1 / n;
    let t = 0;
    for (let i = 0; i < N; i++) {
      const o = i * N;
      let r = 0;
      for (let j = 0; j < N; j++) r += k[o + j] * a[j];
      t += a[i] * r;
    }
    return t;
  };
  const out: number[] = [];
  const k = new Float32Array(N * N);
  for (const scale of scales) {
    const g = 1 / (2 * scale * scale * median2);
    for (let i = 0; i < N * N; i++) k[i] = Math.exp(-d2[i] * g);
    const labels = new Uint8Array(N);
    for (let i = n; i < N; i++) labels[i] = 1;
    const observed = statistic(k, labels);
    let atLeast = 0;
    for (let b = 0; b < permutations; b++) {
      for (let i = N - 1; i > 0; i--) {
        const j = randInt(rng, i + 1);
        const t = labels[i];
        labels[i] = labels[j];
        labels[j] = t;
      }
      if (statistic(k, labels) >= observed) atLeast++;
    }
    out.push((1 + atLeast) / (permutations + 1));
  }
  return out;
}

export function ksOnComponents(x: Matrix, y: Matrix, components = 10): number {
  const fit = pcaFit(stack(x, y), components);
  const sx = pcaTransform(x, fit);
  const sy = pcaTransform(y, fit);
  let best = 1;
  for (let k = 0; k < fit.q; k++) best = Math.min(best, ksTwoSample(column(sx, k), column(sy, k)).p_value);
  return Math.min(1, best * fit.q);
}
