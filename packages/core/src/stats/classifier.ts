import type { Matrix, Rng } from '../monitors/types.js';
import { cholesky, forwardSolveRowsInPlace } from './matrix.js';
import { upperShares } from './multiple.js';
import { shuffleInPlace } from './rng.js';

export interface DomainClassifierOptions {
  /** Label permutations B for the p-value; the smallest attainable p-value is 1/(B+1). */
  permutations: number;
  rng: Rng;
  /** Cross-validation folds (default 5). */
  folds?: number;
  /** Ridge added to the standardised features' covariance; default 0.1 + features / training rows. */
  ridge?: number;
  /** False-positive rate at which the true-positive rate is read (default 0.1). */
  fpr?: number;
  /** Share of each fold's test rows, top-scored, among which the `top` statistic counts Y rows (default: `fpr`). */
  top?: number;
  /** At least this many rows per fold for the `top` statistic (default 1): a share of a small fold is a handful of rows, too coarse a statistic. */
  topMinRows?: number;
  /**
   * Test statistic: `top` (default), the share of Y rows among each fold's top-scored
   * `top` share (suits a small new subpopulation); `auc`, the out-of-fold AUC (suits
   * shifts of the whole window, such as a small mean shift); or `both`: the smaller
   * of the two permutation p-values, itself calibrated on the same permutations
   * (min-p, Westfall & Young 1993), so the level stays exact.
   */
  statistic?: 'top' | 'auc' | 'both';
  /**
   * Relabellings to use instead of drawing `permutations` shuffles: each a 0/1 vector
   * over the pooled rows (x first, then y) with as many ones as y has rows. Lets
   * several tests share their permutations (see minPCombination).
   */
  labelings?: Uint8Array[];
}

export interface DomainClassifierResult {
  /** Cross-validated AUC of "row belongs to Y": pooled over folds, 0.5 = indistinguishable. */
  auc: number;
  /**
   * Out of fold, the share of Y rows scoring above the (1 - fpr) quantile of the X
   * rows' scores of their fold: the ROC curve at false-positive rate `fpr`. About
   * `fpr` when nothing differs; `fpr` + 0.9 x (share of Y that is new) for a new
   * subpopulation the classifier recognises.
   */
  tpr: number;
  fpr: number;
  /** Out of fold, the share of Y rows among the top-scored `top` share of each fold's rows (Y's share of all rows when nothing differs): the test statistic. */
  top: number;
  /** The share of rows `top` counts among. */
  top_fraction: number;
  /** (1 + #{stat_b >= stat}) / (B + 1) over label permutations (stat = `top` or `auc`, or min-p of both, see the option), the whole cross-validation re-run each time. */
  p_value: number;
  /** Permutation p-value of each statistic alone. */
  p_top: number;
  p_auc: number;
  /** The statistics on the observed labels (index 0) and on every relabelling. */
  permutation: { top: Float64Array; auc: Float64Array };
  folds: number;
  permutations: number;
}

/**
 * Classifier two-sample test (Lopez-Paz & Oquab 2017, Friedman 2003): can a
 * classifier tell rows of X from rows of Y better than chance?
 *
 * Classifier: regularised Fisher linear discriminant on standardised features,
 * w = (S + ridge I)^-1 (mean_Y - mean_X) with the class means of the fold's
 * training rows and S the total covariance of all pooled rows (label-free; for two
 * classes the total covariance gives the same direction as the within-class one, by
 * Sherman-Morrison). AUC is measured out of fold with K-fold
 * cross-validation. The test statistic is the share of Y rows among each fold's
 * top-scored 10%: it reacts to shifts of the whole window and, unlike the AUC
 * (diluted by the unchanged rest), to a small new subpopulation whose rows the
 * classifier puts on top. AUC and TPR at 10% FPR are reported as effect sizes.
 * Because S, the folds and the standardisation do not depend
 * on the labels, each permutation re-fits the full cross-validation for
 * O((n+m) f) on rows whitened once, so the permutation p-value is exact and cheap.
 */
export function domainClassifierTest(x: Matrix, y: Matrix, opts: DomainClassifierOptions): DomainClassifierResult {
  if (x.cols !== y.cols) throw new RangeError('samples differ in dimension');
  const f = x.cols;
  const n = x.rows;
  const N = n + y.rows;
  const K = Math.max(2, Math.min(opts.folds ?? 5, Math.floor(N / 2)));

  // Pooled, standardised features.
  const X = new Float64Array(N * f);
  X.set(x.data, 0);
  X.set(y.data, n * f);
  // Column means and standard deviations, summed row by row (each column's sums in the
  // same order as a column-by-column walk, without its cache misses).
  const mu = new Float64Array(f);
  const sd = new Float64Array(f);
  for (let i = 0; i < N; i++) for (let c = 0; c < f; c++) mu[c] += X[i * f + c];
  for (let c = 0; c < f; c++) mu[c] /= N;
  for (let i = 0; i < N; i++)
    for (let c = 0; c < f; c++) {
      const d = X[i * f + c] - mu[c];
      sd[c] += d ** 2;
    }
  for (let c = 0; c < f; c++) sd[c] = Math.sqrt(sd[c] / Math.max(1, N - 1)) || 1;
  for (let i = 0; i < N; i++) for (let c = 0; c < f; c++) X[i * f + c] = (X[i * f + c] - mu[c]) / sd[c];

  // Folds: a random partition of the pooled rows (label-free).
  const order = shuffleInPlace(Int32Array.from({ length: N }, (_, i) => i), opts.rng);
  const fold = new Int32Array(N);
  order.forEach((row, pos) => (fold[row] = pos % K));
  const testRows: Int32Array[] = [];
  for (let k = 0; k < K; k++) testRows.push(Int32Array.from(order.filter((_, pos) => pos % K === k)));

  // One regularised covariance of all pooled rows, S + ridge I with ridge 0.1 + f / N
  // (label-free: permutations leave it unchanged, so the test stays exact). Rows are
  // whitened once, u = L^-1 x with L L^T = S + ridge I; the discriminant of a fold,
  // w = (S + ridge I)^-1 (mean_Y - mean_X) over its training rows, scores a row
  // x . w = u . (difference of the whitened training means). A permutation then costs
  // O((n+m) f); the fit costs O((n+m) f^2) once.
  const cov = new Float64Array(f * f);
  // Four rows per pass over cov: the same sums in the same order (row by row) with a quarter
  // of the loads and stores of cov.
  let i4 = 0;
  for (; i4 + 4 <= N; i4 += 4) {
    const o0 = i4 * f;
    const o1 = o0 + f;
    const o2 = o1 + f;
    const o3 = o2 + f;
    for (let a = 0; a < f; a++) {
      const x0 = X[o0 + a];
      const x1 = X[o1 + a];
      const x2 = X[o2 + a];
      const x3 = X[o3 + a];
      const ra = a * f;
      for (let c = a; c < f; c++) cov[ra + c] = cov[ra + c] + x0 * X[o0 + c] + x1 * X[o1 + c] + x2 * X[o2 + c] + x3 * X[o3 + c];
    }
  }
  for (; i4 < N; i4++) {
    const o = i4 * f;
    for (let a = 0; a < f; a++) {
      const xa = X[o + a];
      if (xa === 0) continue;
      const ra = a * f;
      for (let c = a; c < f; c++) cov[ra + c] += xa * X[o + c];
    }
  }
  const ridge = opts.ridge ?? 0.1 + f / N;
  for (let a = 0; a < f; a++)
    for (let c = a; c < f; c++) {
      const v = cov[a * f + c] / Math.max(1, N - 1) + (a === c ? ridge : 0);
      cov[a * f + c] = v;
      cov[c * f + a] = v;
    }
  const L = cholesky(cov, f);
  const U = Float64Array.from(X);
  forwardSolveRowsInPlace(L, f, U, N);
  const total = new Float64Array(f);
  for (let i = 0; i < N; i++) for (let c = 0; c < f; c++) total[c] += U[i * f + c];
  const trainSum: Float64Array[] = [];
  const nTrain: number[] = [];
  for (let k = 0; k < K; k++) {
    const sum = Float64Array.from(total);
    for (const i of testRows[k]) for (let c = 0; c < f; c++) sum[c] -= U[i * f + c];
    trainSum.push(sum);
    nTrain.push(N - testRows[k].length);
  }
  const foldSumY = new Float64Array(K * f);
  const foldNY = new Int32Array(K);
  const delta = new Float64Array(f);
  const fpr = opts.fpr ?? 0.1;
  const topFraction = opts.top ?? fpr;
  if (!(fpr > 0 && fpr < 1) || !(topFraction > 0 && topFraction < 1)) throw new RangeError(`fpr (${fpr}) and top (${topFraction}) must lie strictly between 0 and 1`);
  const largestFold = Math.max(...testRows.map((r) => r.length));
  const posBuf = new Float64Array(largestFold);
  const negBuf = new Float64Array(largestFold);
  // Each fold's rows in ascending order, and a buffer for those labelled Y.
  const foldRows = testRows.map((r) => Int32Array.from(r).sort());
  const yRows = new Int32Array(largestFold);
  /** Out-of-fold AUC, and the share of Y test rows scoring above the X test rows' (1 - fpr) quantile. */
  const cvStats = (isY: Uint8Array): { auc: number; tpr: number; top: number } => {
    foldSumY.fill(0);
    foldNY.fill(0);
    const totalY = new Float64Array(f);
    let nY = 0;
    // Each fold's Y rows in ascending order (as a walk over all rows adds them), four per pass
    // over the fold's sums: the same additions in the same order, a quarter of the loads and stores.
    for (let k = 0; k < K; k++) {
      const rows = foldRows[k];
      let m = 0;
      for (let t = 0; t < rows.length; t++) if (isY[rows[t]]) yRows[m++] = rows[t];
      foldNY[k] = m;
      nY += m;
      const ks = k * f;
      let t = 0;
      for (; t + 4 <= m; t += 4) {
        const o0 = yRows[t] * f;
        const o1 = yRows[t + 1] * f;
        const o2 = yRows[t + 2] * f;
        const o3 = yRows[t + 3] * f;
        for (let c = 0; c < f; c++) foldSumY[ks + c] = foldSumY[ks + c] + U[o0 + c] + U[o1 + c] + U[o2 + c] + U[o3 + c];
      }
      for (; t < m; t++) {
        const o = yRows[t] * f;
        for (let c = 0; c < f; c++) foldSumY[ks + c] += U[o + c];
      }
    }
    for (let k = 0; k < K; k++) for (let c = 0; c < f; c++) totalY[c] += foldSumY[k * f + c];
    let uSum = 0;
    let pairs = 0;
    let tprHits = 0;
    let tprRows = 0;
    let topY = 0;
    let topAll = 0;
    for (let k = 0; k < K; k++) {
      const ny = nY - foldNY[k];
      const nx = nTrain[k] - ny;
      if (ny === 0 || nx === 0) continue;
      for (let c = 0; c < f; c++) {
        const sy = totalY[c] - foldSumY[k * f + c];
        delta[c] = sy / ny - (trainSum[k][c] - sy) / nx;
      }
      const rows = testRows[k];
      let np = 0;
      let nn = 0;
      // Four rows at a time: four independent sums (each in the order of one row alone) keep
      // the floating-point unit busy where one sum waits on its previous addition.
      let t = 0;
      for (; t + 4 <= rows.length; t += 4) {
        const o0 = rows[t] * f;
        const o1 = rows[t + 1] * f;
        const o2 = rows[t + 2] * f;
        const o3 = rows[t + 3] * f;
        let s0 = 0;
        let s1 = 0;
        let s2 = 0;
        let s3 = 0;
        for (let c = 0; c < f; c++) {
          const dc = delta[c];
          s0 += U[o0 + c] * dc;
          s1 += U[o1 + c] * dc;
          s2 += U[o2 + c] * dc;
          s3 += U[o3 + c] * dc;
        }
        if (isY[rows[t]]) posBuf[np++] = s0;
        else negBuf[nn++] = s0;
        if (isY[rows[t + 1]]) posBuf[np++] = s1;
        else negBuf[nn++] = s1;
        if (isY[rows[t + 2]]) posBuf[np++] = s2;
        else negBuf[nn++] = s2;
        if (isY[rows[t + 3]]) posBuf[np++] = s3;
        else negBuf[nn++] = s3;
      }
      for (; t < rows.length; t++) {
        const i = rows[t];
        const o = i * f;
        let s = 0;
        for (let c = 0; c < f; c++) s += U[o + c] * delta[c];
        if (isY[i]) posBuf[np++] = s;
        else negBuf[nn++] = s;
      }
      const negSorted = negBuf.subarray(0, nn).sort();
      const posSorted = posBuf.subarray(0, np).sort();
      // Top share: Y rows among the fold's top-scored `top` share of test rows (merge from the top).
      let topK = Math.min(rows.length, Math.max(1, opts.topMinRows ?? 1, Math.round(topFraction * rows.length)));
      let ip = posSorted.length - 1;
      let ineg = negSorted.length - 1;
      topAll += topK;
      while (topK-- > 0) {
        if (ineg < 0 || (ip >= 0 && posSorted[ip] >= negSorted[ineg])) {
          ip--;
          topY++;
        } else ineg--;
      }
      if (np === 0 || nn === 0) continue;
      // Y rows scoring above X's (1 - fpr) quantile in this fold.
      const cut = negSorted[Math.min(negSorted.length - 1, Math.max(0, Math.ceil((1 - fpr) * negSorted.length) - 1))];
      let above = 0;
      for (let t = posSorted.length - 1; t >= 0 && posSorted[t] > cut; t--) above++;
      tprHits += above;
      tprRows += posSorted.length;
      uSum += countU(posSorted, negSorted);
      pairs += np * nn;
    }
    return { auc: pairs ? uSum / pairs : 0.5, tpr: tprRows ? tprHits / tprRows : 0, top: topAll ? topY / topAll : 0 };
  };

  const labels = new Uint8Array(N);
  for (let i = n; i < N; i++) labels[i] = 1;
  const observed = cvStats(labels);
  const B = opts.labelings ? opts.labelings.length : opts.permutations;
  const tops = new Float64Array(B + 1);
  const aucs = new Float64Array(B + 1);
  tops[0] = observed.top;
  aucs[0] = observed.auc;
  for (let b = 1; b <= B; b++) {
    if (opts.labelings) {
      if (opts.labelings[b - 1].length !== N) throw new RangeError(`labeling ${b - 1} has ${opts.labelings[b - 1].length} entries, expected ${N}`);
      labels.set(opts.labelings[b - 1]);
    } else shuffleInPlace(labels, opts.rng);
    const st = cvStats(labels);
    tops[b] = st.top;
    aucs[b] = st.auc;
  }
  // Permutation p-value of every draw (the observed one is draw 0): share of draws at least as large.
  const pTop = upperShares(tops);
  const pAuc = upperShares(aucs);
  const stat = opts.statistic ?? 'top';
  let p: number;
  if (stat === 'top') p = pTop[0];
  else if (stat === 'auc') p = pAuc[0];
  else {
    const minP = Float64Array.from(pTop, (v, j) => Math.min(v, pAuc[j]));
    let atMost = 0;
    for (let j = 0; j <= B; j++) if (minP[j] <= minP[0]) atMost++;
    p = atMost / (B + 1);
  }
  return { ...observed, fpr, top_fraction: topFraction, p_value: p, p_top: pTop[0], p_auc: pAuc[0], folds: K, permutations: B, permutation: { top: tops, auc: aucs } };
}

/** U = #{pos > neg} + 0.5 #{pos = neg} for two ascending arrays. */
function countU(pos: Float64Array, neg: Float64Array): number {
  let u = 0;
  let lo = 0; // neg[0..lo) < current pos
  let hi = 0; // neg[0..hi) <= current pos
  for (let i = 0; i < pos.length; i++) {
    const v = pos[i];
    while (lo < neg.length && neg[lo] < v) lo++;
    if (hi < lo) hi = lo;
    while (hi < neg.length && neg[hi] <= v) hi++;
    u += lo + 0.5 * (hi - lo);
  }
  return u;
}
