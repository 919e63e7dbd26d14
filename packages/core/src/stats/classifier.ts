import type { Matrix, Rng } from '../monitors/types.js';
import { classifierWasm } from './classifier-wasm.js';
import { addInto, addYRows, columnSums, crossProductUpper, crossProductUpperWasm, forwardSolveRows, forwardSolveRowsWasm, meanDifference, scoreRows, scoreRows2, scoreRows3, standardiseColumns, subtractRows } from './classifier-kernels.js';
import { cholesky } from './matrix.js';
import { upperShares } from './multiple.js';
import { shuffleInPlace } from './rng.js';

/** Draws (observed labelling and relabellings) whose cross-validations share each pass over the whitened rows. */
const DRAW_BLOCK = 20;

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

  const B = opts.labelings ? opts.labelings.length : opts.permutations;
  const P = Math.max(1, Math.min(B + 1, DRAW_BLOCK));
  // Fold k holds the rows at positions k, k + K, ... of a shuffle: the first is the largest.
  const largestFold = Math.ceil(N / K);
  // The WebAssembly kernels (classifier-wasm.ts) where available: the rows then live in its memory.
  const wasm = classifierWasm(N, f, largestFold, P, K);
  // Pooled, standardised features.
  const X = wasm ? wasm.U : new Float64Array(N * f);
  X.set(x.data, 0);
  X.set(y.data, n * f);
  // Column means and standard deviations, summed row by row (each column's sums in the
  // same order as a column-by-column walk, without its cache misses).
  standardiseColumns(X, N, f);

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
  const cov = wasm ? crossProductUpperWasm(wasm, N, f) : crossProductUpper(X, N, f);
  const ridge = opts.ridge ?? 0.1 + f / N;
  for (let a = 0; a < f; a++)
    for (let c = a; c < f; c++) {
      const v = cov[a * f + c] / Math.max(1, N - 1) + (a === c ? ridge : 0);
      cov[a * f + c] = v;
      cov[c * f + a] = v;
    }
  const L = cholesky(cov, f);
  // X is not needed any more: whitened in place.
  const U = X;
  if (wasm) forwardSolveRowsWasm(wasm, L, f, N);
  else forwardSolveRows(L, f, U, N);
  // Whitened training sums of each fold: all rows' sum less the fold's test rows (in their order).
  const total = columnSums(U, N, f);
  const trainSum: Float64Array[] = [];
  const nTrain: number[] = [];
  for (let k = 0; k < K; k++) {
    const sum = Float64Array.from(total);
    subtractRows(U, f, testRows[k], sum);
    trainSum.push(sum);
    nTrain.push(N - testRows[k].length);
  }
  const fpr = opts.fpr ?? 0.1;
  const topFraction = opts.top ?? fpr;
  if (!(fpr > 0 && fpr < 1) || !(topFraction > 0 && topFraction < 1)) throw new RangeError(`fpr (${fpr}) and top (${topFraction}) must lie strictly between 0 and 1`);
  const tops = new Float64Array(B + 1);
  const aucs = new Float64Array(B + 1);
  const tprs = new Float64Array(B + 1);
  // Each fold's rows in ascending order.
  const foldRows = testRows.map((r) => Int32Array.from(r).sort());
  // Draw 0 is the observed labelling (x first, then y), draws 1..B the relabellings.
  const labels = new Uint8Array(N);
  for (let i = n; i < N; i++) labels[i] = 1;
  const draws: Uint8Array[] = [];
  // The draws are processed in blocks, and every pass over the whitened rows serves the whole
  // block: a block's cross-validations read each row of U once from memory instead of once per
  // draw. Each draw's sums are the same additions in the same order as one draw alone (Y rows
  // of a fold in ascending order, each score summed over the features in order), so the
  // statistics are bit-identical to a draw-by-draw walk.
  const sumY = wasm ? wasm.sumY : new Float64Array(P * K * f);
  // Each fold's rows at k x largestFold in the module's row indices.
  if (wasm) foldRows.forEach((r, k) => wasm.rowIdx.set(r, k * largestFold));
  const nYFold = new Int32Array(P * K);
  const totalY = new Float64Array(P * f);
  const nY = new Int32Array(P);
  const delta = new Float64Array(P * f);
  const fitted = new Uint8Array(P);
  // The draws of the block with a discriminant in the current fold (both classes among its training rows).
  const fit = new Int32Array(P);
  const scores = new Float64Array(P * largestFold);
  const work = foldStatsWork(largestFold);
  const yRows = new Int32Array(largestFold);
  // Per draw of the block: U sum, pairs, TPR hits, TPR rows, Y rows on top, rows on top.
  const acc = new Float64Array(P * 6);
  // Rows each fold's top share counts among.
  const topRows = foldRows.map((r) => Math.min(r.length, Math.max(1, opts.topMinRows ?? 1, Math.round(topFraction * r.length))));
  // Rows per chunk: a chunk of U (about 256 KiB) stays in cache while every draw of the block uses it.
  const chunk = Math.max(4, (Math.floor(32768 / Math.max(1, f)) >> 2) << 2);
  wasm?.foldStats?.setFpr(fpr);
  for (let b0 = 0; b0 <= B; b0 += P) {
    const nb = Math.min(P, B + 1 - b0);
    draws.length = 0;
    for (let b = b0; b < b0 + nb; b++) {
      if (b === 0) draws.push(Uint8Array.from(labels));
      else if (opts.labelings) {
        const lab = opts.labelings[b - 1];
        if (lab.length !== N) throw new RangeError(`labeling ${b - 1} has ${lab.length} entries, expected ${N}`);
        draws.push(lab);
      } else {
        shuffleInPlace(labels, opts.rng);
        draws.push(Uint8Array.from(labels));
      }
    }
    const countsWasm = wasm?.foldStats;
    if (countsWasm) for (let p = 0; p < nb; p++) wasm.labels.set(draws[p], p * N);
    // Class sums of each fold's Y rows, row chunk by row chunk, every draw adding its Y rows of
    // the chunk in ascending order.
    sumY.fill(0, 0, nb * K * f);
    nYFold.fill(0, 0, nb * K);
    for (let k = 0; k < K; k++) {
      const rows = foldRows[k];
      for (let r0 = 0; r0 < rows.length; r0 += chunk) {
        const r1 = Math.min(rows.length, r0 + chunk);
        for (let p = 0; p < nb; p++) {
          if (!wasm) {
            nYFold[p * K + k] += addYRows(U, f, rows, r0, r1, draws[p], yRows, sumY, (p * K + k) * f);
            continue;
          }
          const yIdx = wasm.yIdx;
          const m = gatherY(draws[p], rows, r0, r1, yIdx);
          nYFold[p * K + k] += m;
          const at = (p * K + k) * f;
          wasm.sumRows(m, at);
          // An odd last feature, which the module's pairs of features leave out: the same rows in order.
          if (f & 1) for (let t = 0; t < m; t++) sumY[at + f - 1] += U[yIdx[t] * f + f - 1];
        }
      }
    }
    // Each draw's Y totals: its fold sums added fold by fold, as one draw alone.
    totalY.fill(0);
    nY.fill(0);
    for (let p = 0; p < nb; p++) {
      for (let k = 0; k < K; k++) {
        addInto(totalY, p * f, sumY, (p * K + k) * f, f);
        nY[p] += nYFold[p * K + k];
      }
    }
    acc.fill(0);
    for (let k = 0; k < K; k++) {
      const rows = foldRows[k];
      const len = rows.length;
      const tsum = trainSum[k];
      let nFit = 0;
      for (let p = 0; p < nb; p++) {
        const ny = nY[p] - nYFold[p * K + k];
        const nx = nTrain[k] - ny;
        fitted[p] = ny === 0 || nx === 0 ? 0 : 1;
        if (!fitted[p]) continue;
        fit[nFit++] = p;
        meanDifference(totalY, p * f, sumY, (p * K + k) * f, tsum, ny, nx, delta, p * f, f);
      }
      // Out-of-fold scores, chunk by chunk, four rows and several draws at a time (WebAssembly:
      // four draws, two per f64x2; JS: three), each sum in the order of one row alone.
      if (wasm) {
        // Pairs of draws (an odd last one twice), their discriminants interleaved feature by feature.
        const dpair = wasm.dpair;
        const pairs = (nFit + 1) >> 1;
        for (let j = 0; j < pairs; j++) interleave(delta, fit[2 * j] * f, fit[Math.min(2 * j + 1, nFit - 1)] * f, dpair, j * f * 2, f);
        for (let r0 = 0; r0 < len; r0 += chunk) {
          const r1 = Math.min(len, r0 + chunk);
          let j = 0;
          for (; j + 2 <= pairs; j += 2) wasm.score4(k * largestFold + r0, r1 - r0, j, r0);
          if (j < pairs) wasm.score(k * largestFold + r0, r1 - r0, j, r0);
        }
        if (countsWasm) {
          // The fold statistics in the module, on the scores where score/score4 left them: draw fit[q] in lane q & 1 of pair slot q >> 1.
          for (let q = 0; q < nFit; q++) countsWasm.run(q >> 1, q & 1, fit[q], k, len, topRows[k], acc, fit[q] * 6);
          continue;
        }
        const out = wasm.out;
        for (let j = 0; j < pairs; j++) deinterleave(out, j * largestFold * 2, scores, fit[2 * j] * largestFold, fit[Math.min(2 * j + 1, nFit - 1)] * largestFold, len);
      } else {
        for (let r0 = 0; r0 < len; r0 += chunk) {
          const r1 = Math.min(len, r0 + chunk);
          let q = 0;
          for (; q + 3 <= nFit; q += 3) {
            const pa = fit[q];
            const pb = fit[q + 1];
            const pc = fit[q + 2];
            scoreRows3(U, f, rows, r0, r1, delta, pa * f, pb * f, pc * f, scores, pa * largestFold, pb * largestFold, pc * largestFold);
          }
          if (q + 2 === nFit) scoreRows2(U, f, rows, r0, r1, delta, fit[q] * f, fit[q + 1] * f, scores, fit[q] * largestFold, fit[q + 1] * largestFold);
          else if (q < nFit) scoreRows(U, f, rows, r0, r1, delta, fit[q] * f, scores, fit[q] * largestFold);
        }
      }
      for (let p = 0; p < nb; p++) {
        if (!fitted[p]) continue;
        foldStats(scores, p * largestFold, rows, draws[p], work, topRows[k], fpr, acc, p * 6);
      }
    }
    for (let p = 0; p < nb; p++) {
      const a = p * 6;
      // acc: U sum, pairs, TPR hits, TPR rows, Y rows on top, rows on top
      aucs[b0 + p] = acc[a + 1] ? acc[a] / acc[a + 1] : 0.5;
      tprs[b0 + p] = acc[a + 3] ? acc[a + 2] / acc[a + 3] : 0;
      tops[b0 + p] = acc[a + 5] ? acc[a + 4] / acc[a + 5] : 0;
    }
  }
  const observed = { auc: aucs[0], tpr: tprs[0], top: tops[0] };
  const { p, pTop, pAuc } = permutationPValues(tops, aucs, opts.statistic ?? 'top');
  return { ...observed, fpr, top_fraction: topFraction, p_value: p, p_top: pTop[0], p_auc: pAuc[0], folds: K, permutations: B, permutation: { top: tops, auc: aucs } };
}

/**
 * The permutation p-values of the top share and the AUC over B + 1 draws (the observed one
 * is draw 0): per draw, the share of draws at least as large; and the test's p-value for
 * `statistic` ('both': the min-p combination of the two, on the same draws).
 */
export function permutationPValues(tops: Float64Array, aucs: Float64Array, statistic: 'top' | 'auc' | 'both'): { p: number; pTop: Float64Array; pAuc: Float64Array } {
  const pTop = upperShares(tops);
  const pAuc = upperShares(aucs);
  if (statistic === 'top') return { p: pTop[0], pTop, pAuc };
  if (statistic === 'auc') return { p: pAuc[0], pTop, pAuc };
  const minP = Float64Array.from(pTop, (v, j) => Math.min(v, pAuc[j]));
  let atMost = 0;
  for (let j = 0; j < minP.length; j++) if (minP[j] <= minP[0]) atMost++;
  return { p: atMost / minP.length, pTop, pAuc };
}

/** U = #{pos > neg} + 0.5 #{pos = neg} for two ascending arrays (the reference of foldStats' U). */
export function countU(pos: Float64Array, neg: Float64Array): number {
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

/** Writes to out the rows among rows[r0..r1) labelled Y, in order; returns their count. */
function gatherY(isY: Uint8Array, rows: Int32Array, r0: number, r1: number, out: Int32Array): number {
  let m = 0;
  // Every row written, the count advanced by its label (1 for any nonzero byte): no branch on
  // the labels, which a relabelling makes random (a mispredicted branch per second row).
  for (let t = r0; t < r1; t++) {
    const r = rows[t];
    out[m] = r;
    m += (isY[r] + 255) >> 8;
  }
  return m;
}

/** out[o + 2 c] = v[a + c], out[o + 2 c + 1] = v[b + c] for c < f. */
function interleave(v: Float64Array, a: number, b: number, out: Float64Array, o: number, f: number): void {
  for (let c = 0; c < f; c++) {
    out[o + 2 * c] = v[a + c];
    out[o + 2 * c + 1] = v[b + c];
  }
}

/** out[a + t] = v[o + 2 t], out[b + t] = v[o + 2 t + 1] for t < len. */
function deinterleave(v: Float64Array, o: number, out: Float64Array, a: number, b: number, len: number): void {
  for (let t = 0; t < len; t++) {
    out[a + t] = v[o + 2 * t];
    out[b + t] = v[o + 2 * t + 1];
  }
}

/** Scratch arrays of foldStats for folds of up to `size` rows. */
export interface FoldStatsWork {
  /** The fold's scores in ascending order, and the 0/1 label (Y = 1) of each. */
  vals: Float64Array;
  labs: Uint8Array;
  /** Label of test row t, and the bucket of its score. */
  lab: Uint8Array;
  bucket: Int32Array;
  /** Bucket starts (one more than buckets). */
  start: Int32Array;
}

export function foldStatsWork(size: number): FoldStatsWork {
  return { vals: new Float64Array(size), labs: new Uint8Array(size), lab: new Uint8Array(size), bucket: new Int32Array(size), start: new Int32Array(size + 1) };
}

/**
 * One fold's statistics for one draw from its test rows' scores (scores[at + t] for rows[t]),
 * added to acc[a..a+6): U statistic, pairs, Y rows above X's (1 - fpr) quantile, Y rows, Y rows
 * among the `topK` top-scored, topK.
 *
 * The figures are those of sorting the Y and the X scores apart and merging them (the test's
 * reference): the top share merges from the top with a Y row first among equal scores, the TPR
 * counts Y scores above the X scores' (1 - fpr) quantile, U = #{y > x} + 0.5 #{y = x}. All three
 * are counts, read here off one ascending order of the fold's scores with their labels, walked by
 * runs of equal scores: a run of gy Y and gx X scores adds gy (x below + gx / 2) to U. That order
 * comes from a bucket sort (buckets spread evenly between the smallest and the largest score,
 * a score's bucket non-decreasing in the score, each bucket then in order by insertion), linear
 * in the fold's size for the scores' smooth spread, where TypedArray sort took two thirds of the
 * time of the classifier's statistics (a runtime call per side and a comparison sort). The
 * insertion pass sorts any input, so the bucketing only sets its cost. Where the WebAssembly
 * kernels run, classifier-wasm.ts foldCounts does the same on the module's scores.
 */
export function foldStats(scores: Float64Array, at: number, rows: Int32Array, isY: Uint8Array, work: FoldStatsWork, topK: number, fpr: number, acc: Float64Array, a: number): void {
  const len = rows.length;
  const { vals, labs, lab, bucket, start } = work;
  let lo = Infinity;
  let hi = -Infinity;
  let np = 0;
  for (let t = 0; t < len; t++) {
    const v = scores[at + t];
    if (v < lo) lo = v;
    if (v > hi) hi = v;
    // 1 for any nonzero label, without a branch.
    const l = (isY[rows[t]] + 255) >> 8;
    lab[t] = l;
    np += l;
  }
  const nn = len - np;
  // One bucket per row: bucket b holds the scores with floor((v - lo) len / (hi - lo)) = b (the
  // top score in the last). Equal scores, or a range too wide for a double: one bucket.
  const last = len - 1;
  let scale = len / (hi - lo);
  if (!(scale < Infinity)) scale = 0;
  start.fill(0, 0, len + 1);
  for (let t = 0; t < len; t++) {
    // v - lo and the product round monotonically: a larger score never gets a lower bucket
    // (a NaN product, from a zero scale times an infinite range, goes to bucket 0 with the rest).
    const q = (scores[at + t] - lo) * scale;
    const b = q >= last ? last : q | 0;
    bucket[t] = b;
    start[b + 1]++;
  }
  for (let b = 1; b < len; b++) start[b] += start[b - 1];
  for (let t = 0; t < len; t++) {
    const p = start[bucket[t]]++;
    vals[p] = scores[at + t];
    labs[p] = lab[t];
  }
  for (let i = 1; i < len; i++) {
    const v = vals[i];
    if (vals[i - 1] <= v) continue;
    const l = labs[i];
    let j = i - 1;
    do {
      vals[j + 1] = vals[j];
      labs[j + 1] = labs[j];
      j--;
    } while (j >= 0 && vals[j] > v);
    vals[j + 1] = v;
    labs[j + 1] = l;
  }
  // Top share: Y rows among the fold's top-scored `top` share of test rows, runs of equal scores
  // from the top, a run's Y rows first. Beyond all rows, as the merge did, each further one counts as Y.
  acc[a + 5] += topK;
  let rest = topK;
  let topY = 0;
  if (rest > len) {
    topY = rest - len;
    rest = len;
  }
  for (let j = len - 1; rest > 0; ) {
    const v = vals[j];
    const j0 = j;
    let gy = labs[j--];
    while (j >= 0 && vals[j] === v) gy += labs[j--];
    if (gy >= rest) {
      topY += rest;
      break;
    }
    topY += gy;
    rest -= j0 - j;
  }
  acc[a + 4] += topY;
  if (np === 0 || nn === 0) return;
  // Runs of equal scores from the bottom: U (twice, an integer), and the Y rows above the run
  // that holds X's (1 - fpr) quantile, the X score at ascending position `cutAt`.
  const cutAt = Math.min(nn - 1, Math.max(0, Math.ceil((1 - fpr) * nn) - 1));
  let u2 = 0;
  let xBelow = 0;
  let yBelow = 0;
  let above = -1;
  for (let i = 0; i < len; ) {
    const v = vals[i];
    const i0 = i;
    let gy = labs[i++];
    while (i < len && vals[i] === v) gy += labs[i++];
    const gx = i - i0 - gy;
    u2 += gy * (2 * xBelow + gx);
    xBelow += gx;
    yBelow += gy;
    if (above < 0 && xBelow > cutAt) above = np - yBelow;
  }
  acc[a + 2] += above;
  acc[a + 3] += np;
  acc[a] += 0.5 * u2;
  acc[a + 1] += np * nn;
}
