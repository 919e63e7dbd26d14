import { ksWalksWasm } from './descriptive-wasm.js';
import { kolmogorovSf } from './distributions.js';

export interface KsResult {
  /** sup |F_a - F_b|. */
  d: number;
  /** P(D >= d) under H0 (same continuous distribution). */
  p_value: number;
  method: 'exact' | 'asymptotic';
}

/** Above this n*m the p-value uses the asymptotic Kolmogorov distribution. */
const EXACT_LIMIT = 10_000_000;

/**
 * Two-sample Kolmogorov-Smirnov test, two-sided.
 * p-value: exact (lattice-path recursion on the scaled counts, Hodges 1958) when
 * n*m <= 1e7 and p >= 1e-10, else the Kolmogorov limit with Stephens' small-sample
 * correction.
 * With ties the p-value is conservative.
 */
export function ksTwoSample(a: ArrayLike<number>, b: ArrayLike<number>): KsResult {
  const n = a.length;
  const m = b.length;
  if (n === 0 || m === 0) return { d: 0, p_value: 1, method: 'exact' };
  const k = ksCount(a, b);
  const d = k / (n * m);
  const ne = (n * m) / (n + m);
  const sq = Math.sqrt(ne);
  const asymptotic = () => kolmogorovSf((sq + 0.12 + 0.11 / sq) * d);
  if (n * m <= EXACT_LIMIT) {
    const p = exactSf(n, m, k);
    // Below ~1e-10 the exact 1 - P(inside) has lost its digits to cancellation.
    if (p >= 1e-10) return { d, p_value: p, method: 'exact' };
    return { d, p_value: Math.min(1e-10, asymptotic()), method: 'asymptotic' };
  }
  return { d, p_value: asymptotic(), method: 'asymptotic' };
}

/** The two-sample KS distance sup |F_a - F_b| alone, without its p-value (the exact one costs O(n m)). */
export function ksDistance(a: ArrayLike<number>, b: ArrayLike<number>): number {
  return a.length && b.length ? ksCount(a, b) / (a.length * b.length) : 0;
}

/** k = max |i*m - j*n| over the merged walk of the sorted samples, an integer: D = k / (n*m). */
function ksCount(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  const m = b.length;
  const x = Float64Array.from(a).sort();
  const y = Float64Array.from(b).sort();
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < n && j < m) {
    const v = Math.min(x[i], y[j]);
    while (i < n && x[i] === v) i++;
    while (j < m && y[j] === v) j++;
    k = Math.max(k, Math.abs(i * m - j * n));
  }
  return k;
}

/**
 * P(K >= k) where K = max |i*m - j*n| along a uniformly random lattice path from
 * (0,0) to (n,m). u[j] holds P(path to (i,j) stayed strictly inside) scaled by
 * 1/C(i+j, i), so the recursion never overflows.
 */
function exactSf(n: number, m: number, k: number): number {
  if (k === 0) return 1;
  const u = new Float64Array(m + 1);
  const inside = (i: number, j: number) => Math.abs(i * m - j * n) < k;
  u[0] = 1;
  for (let j = 1; j <= m; j++) u[j] = inside(0, j) ? u[j - 1] : 0;
  for (let i = 1; i <= n; i++) {
    u[0] = inside(i, 0) ? u[0] : 0;
    for (let j = 1; j <= m; j++) {
      u[j] = inside(i, j) ? (u[j] * i + u[j - 1] * j) / (i + j) : 0;
    }
  }
  return Math.min(1, Math.max(0, 1 - u[m]));
}

/**
 * The largest two-sample KS distance over several columns (e.g. principal
 * components), on the observed labels (index 0: the first `n` rows are x) and on
 * each relabelling (0 = x, 1 = y): the permutation distribution of max_k D_k, so a
 * test on it needs no Bonferroni factor over the columns. O(columns x rows) per
 * relabelling after one sort per column. Counted in integers (D = max |i m - j n| / (n m),
 * as ksDistance), so equal distances compare equal whatever the labels. The walks run in
 * descriptive-wasm.ts's SIMD kernel, sixteen relabellings at once, where it is available (the
 * same integers; about seven times faster at 600 rows, 10 columns, 200 relabellings).
 */
export function ksMaxPermutation(columns: ArrayLike<number>[], n: number, labelings: Uint8Array[]): Float64Array {
  const N = columns.length ? columns[0].length : 0;
  const m = N - n;
  const orders = columns.map((col) => {
    const order = argsort(col);
    // tieEnd[t]: whether position t ends a run of equal values (D is read only there).
    const tieEnd = new Uint8Array(N);
    for (let t = 0; t < N; t++) tieEnd[t] = t === N - 1 || col[order[t + 1]] !== col[order[t]] ? 1 : 0;
    return { order, tieEnd };
  });
  const observed = new Uint8Array(N);
  for (let i = n; i < N; i++) observed[i] = 1;
  const out = new Float64Array(labelings.length + 1);
  const statistic = (lab: Uint8Array): number => {
    let best = 0;
    for (const { order, tieEnd } of orders) best = Math.max(best, walk(order, tieEnd, lab, n, m));
    return best / (n * m);
  };
  if (n === 0 || m === 0) return out;
  for (const lab of labelings) if (lab.length !== N) throw new RangeError(`labeling has ${lab.length} entries, expected ${N}`);
  // 0/1 labels (the walk multiplies by them).
  const binary = (lab: Uint8Array) => {
    let big = 0;
    for (let i = 0; i < lab.length; i++) big |= lab[i];
    return big <= 1 ? lab : lab.map((v) => (v ? 1 : 0));
  };
  // All the walks at once in the SIMD kernel when there is one (the same integers).
  const walks = ksWalksWasm(
    orders.map((o) => o.order),
    orders.map((o) => o.tieEnd),
    [observed, ...labelings],
    n,
    m,
  );
  if (walks) {
    walks.forEach((k, b) => (out[b] = k / (n * m)));
    return out;
  }
  out[0] = statistic(observed);
  labelings.forEach((lab, b) => (out[b + 1] = statistic(binary(lab))));
  return out;
}

/**
 * Row indices in ascending order of col (stable: insertion sort of runs of 8, then
 * bottom-up merges). The order of tied values does not matter to the walks, which read them
 * only at the end of their run. Four times faster than TypedArray sort with a comparator.
 */
function argsort(col: ArrayLike<number>): Int32Array {
  const N = col.length;
  let a = new Int32Array(N);
  let b = new Int32Array(N);
  for (let i = 0; i < N; i++) a[i] = i;
  for (let s = 0; s < N; s += 8) {
    const e = Math.min(N, s + 8);
    for (let i = s + 1; i < e; i++) {
      const v = a[i];
      const x = col[v];
      let j = i - 1;
      while (j >= s && col[a[j]] > x) {
        a[j + 1] = a[j];
        j--;
      }
      a[j + 1] = v;
    }
  }
  for (let w = 8; w < N; w *= 2) {
    for (let s = 0; s < N; s += 2 * w) {
      const mid = Math.min(N, s + w);
      const e = Math.min(N, s + 2 * w);
      let i = s;
      let j = mid;
      let o = s;
      while (i < mid && j < e) b[o++] = col[a[j]] < col[a[i]] ? a[j++] : a[i++];
      while (i < mid) b[o++] = a[i++];
      while (j < e) b[o++] = a[j++];
    }
    const t = a;
    a = b;
    b = t;
  }
  return a;
}

// Walk a column in sorted order: an x row adds m, a y row subtracts n (labels 0/1); the
// largest |walk|, read only at the last of each run of tied values, is n m D. The fallback
// where the SIMD kernel (descriptive-wasm.ts ksWalk, the same integers) is missing.
function walk(order: Int32Array, tieEnd: Uint8Array, lab: Uint8Array, n: number, m: number): number {
  const N = order.length;
  const step = n + m;
  let w = 0;
  let hi = 0;
  let lo = 0;
  for (let t = 0; t < N; t++) {
    w += m - step * lab[order[t]];
    if (tieEnd[t]) {
      if (w > hi) hi = w;
      else if (w < lo) lo = w;
    }
  }
  return hi > -lo ? hi : -lo;
}
