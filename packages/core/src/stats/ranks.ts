import { normalSf } from './distributions.js';

export type Alternative = 'two-sided' | 'greater' | 'less';

export interface MannWhitneyResult {
  /** U of sample a: #{(x in a, y in b): x > y} + 0.5 #{x = y}. */
  u: number;
  /** U / (n m) = P(X > Y) + 0.5 P(X = Y): the AUC of "a scores higher". */
  auc: number;
  z: number;
  p_value: number;
}

/** Midranks (1-based) of the concatenation of a and b, and the tie correction sum (t^3 - t). */
function midranks(values: Float64Array): { ranks: Float64Array; tieSum: number } {
  const n = values.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => values[i] - values[j]);
  const ranks = new Float64Array(n);
  let tieSum = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && values[order[j + 1]] === values[order[i]]) j++;
    const r = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) ranks[order[k]] = r;
    const t = j - i + 1;
    tieSum += t * t * t - t;
    i = j + 1;
  }
  return { ranks, tieSum };
}

/**
 * Mann-Whitney U test (Wilcoxon rank-sum) with midranks, tie-corrected variance
 * and continuity correction. `greater` tests whether a tends to exceed b.
 * Normal approximation: fine for n, m >= 8 or so.
 */
export function mannWhitney(a: ArrayLike<number>, b: ArrayLike<number>, alternative: Alternative = 'two-sided'): MannWhitneyResult {
  const n = a.length;
  const m = b.length;
  if (n === 0 || m === 0) return { u: 0, auc: 0.5, z: 0, p_value: 1 };
  const all = new Float64Array(n + m);
  for (let i = 0; i < n; i++) all[i] = a[i];
  for (let j = 0; j < m; j++) all[n + j] = b[j];
  const { ranks, tieSum } = midranks(all);
  let r1 = 0;
  for (let i = 0; i < n; i++) r1 += ranks[i];
  const u = r1 - (n * (n + 1)) / 2;
  return uTest(u, n, m, tieSum, alternative);
}

/** Normal approximation of U's null distribution given the tie sum. */
export function uTest(u: number, n: number, m: number, tieSum: number, alternative: Alternative): MannWhitneyResult {
  const N = n + m;
  const mean = (n * m) / 2;
  const variance = ((n * m) / 12) * (N + 1 - tieSum / (N * (N - 1)));
  const auc = u / (n * m);
  if (variance <= 0) return { u, auc, z: 0, p_value: 1 };
  const sd = Math.sqrt(variance);
  const diff = u - mean;
  let z: number;
  let p: number;
  if (alternative === 'greater') {
    z = (diff - 0.5) / sd;
    p = normalSf(z);
  } else if (alternative === 'less') {
    z = (diff + 0.5) / sd;
    p = normalSf(-z);
  } else {
    z = (Math.sign(diff) * Math.max(0, Math.abs(diff) - 0.5)) / sd;
    p = Math.min(1, 2 * normalSf(Math.abs(z)));
  }
  return { u, auc, z, p_value: p };
}

/**
 * Mann-Whitney test on ordinal data given as category counts (e.g. ratings
 * 1..5: counts[0] = number of 1s). a and b are the two samples' counts.
 */
export function mannWhitneyFromCounts(a: ArrayLike<number>, b: ArrayLike<number>, alternative: Alternative = 'two-sided'): MannWhitneyResult {
  let n = 0;
  let m = 0;
  for (let k = 0; k < a.length; k++) {
    n += a[k];
    m += b[k];
  }
  if (n === 0 || m === 0) return { u: 0, auc: 0.5, z: 0, p_value: 1 };
  let below = 0; // observations of both samples in lower categories
  let r1 = 0;
  let tieSum = 0;
  for (let k = 0; k < a.length; k++) {
    const t = a[k] + b[k];
    const midrank = below + (t + 1) / 2;
    r1 += a[k] * midrank;
    tieSum += t * t * t - t;
    below += t;
  }
  const u = r1 - (n * (n + 1)) / 2;
  return uTest(u, n, m, tieSum, alternative);
}

/**
 * AUC of scores for positives vs negatives, P(score_pos > score_neg) + 0.5 P(=).
 * O((n+m) log(n+m)).
 */
export function auc(pos: ArrayLike<number>, neg: ArrayLike<number>): number {
  return mannWhitney(pos, neg).auc;
}

/** Median of a sample (mean of the two middle values when even); NaN for an empty one. */
export function median(values: ArrayLike<number>): number {
  const v = Float64Array.from(values).sort();
  const n = v.length;
  if (n === 0) return NaN;
  return n % 2 ? v[(n - 1) / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}
