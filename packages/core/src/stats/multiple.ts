/** Multiple-testing corrections over a family of p-values. */

/** Bonferroni: each p-value times the family size, capped at 1. */
export function bonferroni(pvalues: number[]): number[] {
  const m = pvalues.length;
  return pvalues.map((p) => Math.min(1, p * m));
}

/** Bonferroni-combined p-value of a family: min(1, m * min p). Rejecting when it is < alpha controls the family-wise error rate at alpha. */
export function bonferroniMin(pvalues: number[]): number {
  if (pvalues.length === 0) return 1;
  return Math.min(1, pvalues.length * Math.min(...pvalues));
}

/** Holm's step-down adjusted p-values (uniformly more powerful than Bonferroni, same FWER guarantee), in input order. */
export function holm(pvalues: number[]): number[] {
  const m = pvalues.length;
  const order = pvalues.map((p, i) => [p, i] as const).sort((a, b) => a[0] - b[0]);
  const adj = new Array<number>(m);
  let running = 0;
  order.forEach(([p, i], rank) => {
    running = Math.max(running, Math.min(1, (m - rank) * p));
    adj[i] = running;
  });
  return adj;
}

/**
 * For each value v_j of a permutation distribution (index 0 = the observed
 * statistic, the rest = its values under relabellings), #{i : v_i >= v_j} / length:
 * the permutation p-value every draw would get. O(n log n).
 */
export function upperShares(v: ArrayLike<number>): Float64Array {
  const n = v.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => v[b] - v[a]);
  const out = new Float64Array(n);
  let i = 0;
  while (i < n) {
    let j = i;
    while (j + 1 < n && v[order[j + 1]] === v[order[i]]) j++;
    for (let t = i; t <= j; t++) out[order[t]] = (j + 1) / n;
    i = j + 1;
  }
  return out;
}

/**
 * Min-p permutation combination (Westfall & Young 1993) of several statistics
 * computed on the SAME relabellings: each `stats[t]` holds test t's statistic on the
 * observed labels (index 0) and on B relabellings (larger = more extreme). Every
 * draw's smallest marginal p-value is compared with the observed one's:
 * p = #{j : min_t p_t(j) <= min_t p_t(0)} / (B + 1). Exact level for any
 * dependence between the tests, and close to the best single test's power when one
 * test carries the signal (no Bonferroni factor).
 * @returns the combined p-value and each test's marginal permutation p-value.
 */
export function minPCombination(stats: ArrayLike<number>[]): { p_value: number; marginal: number[] } {
  if (stats.length === 0) return { p_value: 1, marginal: [] };
  const n = stats[0].length;
  if (stats.some((s) => s.length !== n)) throw new RangeError('every statistic needs the same number of permutations');
  const shares = stats.map(upperShares);
  const minP = new Float64Array(n).fill(1);
  for (const sh of shares) for (let j = 0; j < n; j++) if (sh[j] < minP[j]) minP[j] = sh[j];
  let atMost = 0;
  for (let j = 0; j < n; j++) if (minP[j] <= minP[0]) atMost++;
  return { p_value: atMost / n, marginal: shares.map((sh) => sh[0]) };
}
