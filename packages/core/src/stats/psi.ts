/**
 * Population Stability Index of `current` against `baseline` on bins cut at the
 * baseline's quantiles (deciles by default, so each baseline bin holds ~10%):
 *   PSI = sum_b (c_b - a_b) * ln(c_b / a_b)
 * with a_b, c_b the baseline and current shares of bin b. Empty bins get a share
 * of `floor` (default 1e-4) so the log stays finite.
 * Rule of thumb from credit scoring: < 0.1 stable, 0.1..0.2 moderate, > 0.2 significant.
 * PSI is biased upward on small samples (about (bins-1)(1/n + 1/m) with no shift).
 */
export function psi(baseline: ArrayLike<number>, current: ArrayLike<number>, bins = 10, floor = 1e-4): number {
  const edges = quantileEdges(baseline, bins);
  const a = histogram(baseline, edges);
  const c = histogram(current, edges);
  return psiFromShares(a, c, floor);
}

/** PSI of two histograms (counts or shares; each is normalised to sum to 1). */
export function psiFromShares(expected: ArrayLike<number>, actual: ArrayLike<number>, floor = 1e-4): number {
  if (expected.length !== actual.length) throw new RangeError('histograms differ in length');
  const se = sum(expected);
  const sa = sum(actual);
  let s = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = Math.max(expected[i] / se, floor);
    const a = Math.max(actual[i] / sa, floor);
    s += (a - e) * Math.log(a / e);
  }
  return s;
}

/** Interior cut points at the i/bins quantiles of `values` (bins-1 edges, deduplicated). */
export function quantileEdges(values: ArrayLike<number>, bins: number): number[] {
  const v = Float64Array.from(values).sort();
  const edges: number[] = [];
  for (let b = 1; b < bins; b++) {
    const e = v[Math.min(v.length - 1, Math.floor((b * v.length) / bins))];
    if (edges.length === 0 || e > edges[edges.length - 1]) edges.push(e);
  }
  return edges;
}

/** Counts per bin: bin i holds values in [edges[i-1], edges[i]). */
export function histogram(values: ArrayLike<number>, edges: number[]): Float64Array {
  const h = new Float64Array(edges.length + 1);
  for (let i = 0; i < values.length; i++) {
    const x = values[i];
    let lo = 0;
    let hi = edges.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (x < edges[mid]) hi = mid;
      else lo = mid + 1;
    }
    h[lo]++;
  }
  return h;
}

function sum(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s || 1;
}
