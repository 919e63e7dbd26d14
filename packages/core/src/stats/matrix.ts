import type { Matrix } from '../monitors/types.js';
import type { Rng } from '../monitors/types.js';
import { accumulateWasm, covarianceSumsWasm, rotateRowsWasm } from './descriptive-wasm.js';

/** A new rows x cols matrix of zeros (Float64). */
export function zeros(rows: number, cols: number): Matrix {
  return { rows, cols, data: new Float64Array(rows * cols) };
}

/** Matrix from an array of equal-length rows (tests, small inputs). */
export function fromRows(rows: ArrayLike<number>[]): Matrix {
  const cols = rows.length ? rows[0].length : 0;
  const m = zeros(rows.length, cols);
  rows.forEach((r, i) => {
    if (r.length !== cols) throw new RangeError(`row ${i} has ${r.length} values, expected ${cols}`);
    for (let j = 0; j < cols; j++) m.data[i * cols + j] = r[j];
  });
  return m;
}

/** Row i as a view (no copy). */
export function row(m: Matrix, i: number): Float32Array | Float64Array {
  return m.data.subarray(i * m.cols, (i + 1) * m.cols);
}

/** The listed rows, copied into a new Float64 matrix. */
export function takeRows(m: Matrix, idx: ArrayLike<number>): Matrix {
  const out = zeros(idx.length, m.cols);
  // TypedArray.set: one native copy (and float32 -> float64 conversion) per row.
  for (let r = 0; r < idx.length; r++) out.data.set(m.data.subarray(idx[r] * m.cols, (idx[r] + 1) * m.cols), r * m.cols);
  return out;
}

/** Rows of a stacked on rows of b. */
export function stack(a: Matrix, b: Matrix): Matrix {
  if (a.cols !== b.cols) throw new RangeError(`cannot stack ${a.cols} and ${b.cols} columns`);
  const out = zeros(a.rows + b.rows, a.cols);
  out.data.set(a.data, 0);
  out.data.set(b.data, a.data.length);
  return out;
}

/** Column means. */
export function colMeans(m: Matrix): Float64Array {
  const mu = new Float64Array(m.cols);
  const { rows, cols, data } = m;
  // Four rows per pass over mu: each column summed over the rows in order (the same value), a quarter of the loads and stores of mu.
  let i = 0;
  for (; i + 4 <= rows; i += 4) {
    const o0 = i * cols;
    const o1 = o0 + cols;
    const o2 = o1 + cols;
    const o3 = o2 + cols;
    for (let j = 0; j < cols; j++) mu[j] = mu[j] + data[o0 + j] + data[o1 + j] + data[o2 + j] + data[o3 + j];
  }
  for (; i < rows; i++) {
    const o = i * cols;
    for (let j = 0; j < cols; j++) mu[j] += data[o + j];
  }
  for (let j = 0; j < cols; j++) mu[j] /= rows || 1;
  return mu;
}

/**
 * Total variance: trace of the (n-1)-normalised covariance = mean squared distance to the centroid x n/(n-1).
 * Summed per column over the rows, then over the columns: independent sums instead of one
 * chain of rows x cols additions (faster, and each partial sum is shorter).
 */
export function totalVariance(m: Matrix, mean = colMeans(m)): number {
  const { rows, cols, data } = m;
  const sq = new Float64Array(cols);
  let i = 0;
  for (; i + 4 <= rows; i += 4) {
    const o0 = i * cols;
    const o1 = o0 + cols;
    const o2 = o1 + cols;
    const o3 = o2 + cols;
    for (let j = 0; j < cols; j++) {
      const mj = mean[j];
      const d0 = data[o0 + j] - mj;
      const d1 = data[o1 + j] - mj;
      const d2 = data[o2 + j] - mj;
      const d3 = data[o3 + j] - mj;
      sq[j] = sq[j] + d0 * d0 + d1 * d1 + d2 * d2 + d3 * d3;
    }
  }
  for (; i < rows; i++) {
    const o = i * cols;
    for (let j = 0; j < cols; j++) {
      const d = data[o + j] - mean[j];
      sq[j] += d * d;
    }
  }
  let s = 0;
  for (let j = 0; j < cols; j++) s += sq[j];
  return rows > 1 ? s / (rows - 1) : 0;
}

export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

export function euclidean(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - b[i];
    s += d * d;
  }
  return Math.sqrt(s);
}

/** 1 - cos(a, b); 0 when either vector is zero. */
export function cosineDistance(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const na = Math.sqrt(dot(a, a));
  const nb = Math.sqrt(dot(b, b));
  if (na === 0 || nb === 0) return 0;
  return 1 - dot(a, b) / (na * nb);
}

/**
 * A sparse random projection to k dimensions (Li, Hastie & Church 2006, "very
 * sparse random projections"): each input coordinate feeds each output with
 * probability 1/s, s = sqrt(d), with weight +-sqrt(s / k). Squared distances are
 * preserved in expectation as with a dense Gaussian matrix (Johnson-Lindenstrauss),
 * at about sqrt(d) times less work. It depends only on (d, k, rng), never on the
 * data, so both windows are projected alike and tests on the projection keep
 * their exact level.
 */
export interface SparseProjection {
  d: number;
  k: number;
  /** For output c, its inputs are index[start[c]..start[c+1]) with weights weight[...]. */
  start: Int32Array;
  index: Int32Array;
  weight: Float64Array;
}

export function sparseProjection(d: number, k: number, rng: Rng): SparseProjection {
  const s = Math.max(1, Math.sqrt(d));
  const w = Math.sqrt(s / k);
  const start = new Int32Array(k + 1);
  const index: number[] = [];
  const weight: number[] = [];
  for (let c = 0; c < k; c++) {
    for (let j = 0; j < d; j++) {
      const u = rng.next();
      if (u < 1 / s) {
        index.push(j);
        weight.push(u < 0.5 / s ? w : -w);
      }
    }
    start[c + 1] = index.length;
  }
  return { d, k, start, index: Int32Array.from(index), weight: Float64Array.from(weight) };
}

/** Rows of m projected: (n x d) -> (n x k). */
export function project(m: Matrix, pr: SparseProjection): Matrix {
  if (m.cols !== pr.d) throw new RangeError(`projection expects ${pr.d} columns, got ${m.cols}`);
  const { rows, cols, data } = m;
  const { k, start, index, weight } = pr;
  const out = zeros(rows, k);
  const o = out.data;
  // Eight rows at a time, transposed first (xt[j * 8 + r] = row r's entry j): the eight
  // entries that one index reads are then one cache line instead of eight far apart (a
  // 1536-wide row block is 96 KB, beyond L1), each index and weight read serves eight rows,
  // and the eight sums (each in the order of one row alone) do not wait on one another.
  const xt = new Float64Array(cols * 8);
  let i = 0;
  for (; i + 8 <= rows; i += 8) {
    for (let r = 0; r < 8; r++) {
      const src = (i + r) * cols;
      for (let j = 0; j < cols; j++) xt[j * 8 + r] = data[src + j];
    }
    for (let c = 0; c < k; c++) {
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      let s4 = 0;
      let s5 = 0;
      let s6 = 0;
      let s7 = 0;
      for (let t = start[c]; t < start[c + 1]; t++) {
        const x = index[t] * 8;
        const w = weight[t];
        s0 += xt[x] * w;
        s1 += xt[x + 1] * w;
        s2 += xt[x + 2] * w;
        s3 += xt[x + 3] * w;
        s4 += xt[x + 4] * w;
        s5 += xt[x + 5] * w;
        s6 += xt[x + 6] * w;
        s7 += xt[x + 7] * w;
      }
      const q = i * k + c;
      o[q] = s0;
      o[q + k] = s1;
      o[q + 2 * k] = s2;
      o[q + 3 * k] = s3;
      o[q + 4 * k] = s4;
      o[q + 5 * k] = s5;
      o[q + 6 * k] = s6;
      o[q + 7 * k] = s7;
    }
  }
  // Then four rows at a time, then one.
  for (; i + 4 <= rows; i += 4) {
    const r0 = i * cols;
    const r1 = r0 + cols;
    const r2 = r1 + cols;
    const r3 = r2 + cols;
    for (let c = 0; c < k; c++) {
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let t = start[c]; t < start[c + 1]; t++) {
        const j = index[t];
        const w = weight[t];
        s0 += data[r0 + j] * w;
        s1 += data[r1 + j] * w;
        s2 += data[r2 + j] * w;
        s3 += data[r3 + j] * w;
      }
      o[i * k + c] = s0;
      o[(i + 1) * k + c] = s1;
      o[(i + 2) * k + c] = s2;
      o[(i + 3) * k + c] = s3;
    }
  }
  for (; i < rows; i++) {
    const src = i * cols;
    for (let c = 0; c < k; c++) {
      let s = 0;
      for (let t = start[c]; t < start[c + 1]; t++) s += data[src + index[t]] * weight[t];
      o[i * k + c] = s;
    }
  }
  return out;
}

/**
 * Covariance (cols x cols, (n-1)-normalised) about the given mean. The sums run in
 * descriptive-wasm.ts's SIMD kernel where it is available (the same products added in the
 * same order, two entries at a time; about three times faster at 300 x 64).
 */
export function covariance(m: Matrix, mean = colMeans(m)): Float64Array {
  const { rows, cols } = m;
  const c = covarianceSumsWasm(m, mean) ?? covarianceSums(m, mean);
  const den = rows > 1 ? rows - 1 : 1;
  for (let a = 0; a < cols; a++)
    for (let b = a; b < cols; b++) {
      const v = c[a * cols + b] / den;
      c[a * cols + b] = v;
      c[b * cols + a] = v;
    }
  return c;
}

/** The upper triangle of covariance's sums of products, in JS. */
function covarianceSums(m: Matrix, mean: ArrayLike<number>): Float64Array {
  const { rows, cols, data } = m;
  const c = new Float64Array(cols * cols);
  // Four centred rows per pass over the upper triangle: each entry gets the same products
  // added in the same row order as one row at a time, a quarter of the loads and stores of c.
  const x = new Float64Array(4 * cols);
  let i = 0;
  for (; i + 4 <= rows; i += 4) {
    for (let r = 0; r < 4; r++) {
      const o = (i + r) * cols;
      for (let j = 0; j < cols; j++) x[r * cols + j] = data[o + j] - mean[j];
    }
    for (let a = 0; a < cols; a++) {
      const x0 = x[a];
      const x1 = x[cols + a];
      const x2 = x[2 * cols + a];
      const x3 = x[3 * cols + a];
      const ra = a * cols;
      for (let b = a; b < cols; b++) c[ra + b] = c[ra + b] + x0 * x[b] + x1 * x[cols + b] + x2 * x[2 * cols + b] + x3 * x[3 * cols + b];
    }
  }
  for (; i < rows; i++) {
    const o = i * cols;
    for (let j = 0; j < cols; j++) x[j] = data[o + j] - mean[j];
    for (let a = 0; a < cols; a++) {
      const xa = x[a];
      const ra = a * cols;
      for (let b = a; b < cols; b++) c[ra + b] += xa * x[b];
    }
  }
  return c;
}

/**
 * Eigen-decomposition of a symmetric p x p matrix: Householder reduction to tridiagonal
 * form, then the implicit QL algorithm with Wilkinson-like shifts (tred2 / tql2 of
 * EISPACK, as in the public-domain JAMA EigenvalueDecomposition). O(p^3) in all, about
 * (4/3 + 6) p^3 flops, where cyclic Jacobi needed several sweeps of 6 p^3 each (at p = 64
 * about 1.3 ms against 6.6 ms per call, measured side by side). Written here rather than taken from ml-matrix's
 * EigenvalueDecomposition (the same algorithm) because that one works on arrays of
 * rows, and pca.ts needs it on a flat Float64Array without a copy per call.
 * Returns eigenvalues in descending order and the matching unit eigenvectors as rows
 * of `vectors` (p x p), each with its largest-magnitude entry positive (a fixed sign,
 * as scikit-learn's svd_flip: the same matrix gives the same scores whatever the solver).
 */
export function symmetricEigen(a: Float64Array, p: number): { values: Float64Array; vectors: Float64Array } {
  const n = p;
  // v: n x n row-major, v[i * n + j]; tred2 leaves its transform in the columns, which are
  // then transposed so that tql2 rotates contiguous rows (eigenvector j = row j at the end).
  const v = Float64Array.from(a.subarray(0, n * n));
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  if (n > 0) {
    tred2(n, v, d, e);
    for (let i = 0; i < n; i++)
      for (let j = i + 1; j < n; j++) {
        const t = v[i * n + j];
        v[i * n + j] = v[j * n + i];
        v[j * n + i] = t;
      }
    tql2(n, v, d, e);
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => d[y] - d[x] || x - y);
  const values = new Float64Array(n);
  const vectors = new Float64Array(n * n);
  order.forEach((row, r) => {
    values[r] = d[row];
    let big = 0;
    for (let k = 0; k < n; k++) if (Math.abs(v[row * n + k]) > Math.abs(big)) big = v[row * n + k];
    const sign = big < 0 ? -1 : 1;
    for (let k = 0; k < n; k++) vectors[r * n + k] = sign * v[row * n + k];
  });
  return { values, vectors };
}

/** Householder reduction of the symmetric v (n x n, overwritten by the orthogonal transform) to tridiagonal form: diagonal d, subdiagonal e[1..n). */
function tred2(n: number, v: Float64Array, d: Float64Array, e: Float64Array): void {
  for (let j = 0; j < n; j++) d[j] = v[(n - 1) * n + j];
  for (let i = n - 1; i > 0; i--) {
    let scale = 0;
    let h = 0;
    for (let k = 0; k < i; k++) scale += Math.abs(d[k]);
    if (scale === 0) {
      e[i] = d[i - 1];
      for (let j = 0; j < i; j++) {
        d[j] = v[(i - 1) * n + j];
        v[i * n + j] = 0;
        v[j * n + i] = 0;
      }
    } else {
      for (let k = 0; k < i; k++) {
        d[k] /= scale;
        h += d[k] * d[k];
      }
      let f = d[i - 1];
      let g = Math.sqrt(h);
      if (f > 0) g = -g;
      e[i] = scale * g;
      h -= f * g;
      d[i - 1] = f - g;
      for (let j = 0; j < i; j++) e[j] = 0;
      for (let j = 0; j < i; j++) {
        f = d[j];
        v[j * n + i] = f;
        g = e[j] + v[j * n + j] * f;
        for (let k = j + 1; k <= i - 1; k++) {
          g += v[k * n + j] * d[k];
          e[k] += v[k * n + j] * f;
        }
        e[j] = g;
      }
      f = 0;
      for (let j = 0; j < i; j++) {
        e[j] /= h;
        f += e[j] * d[j];
      }
      const hh = f / (h + h);
      for (let j = 0; j < i; j++) e[j] -= hh * d[j];
      for (let j = 0; j < i; j++) {
        f = d[j];
        g = e[j];
        for (let k = j; k <= i - 1; k++) v[k * n + j] -= f * e[k] + g * d[k];
        d[j] = v[(i - 1) * n + j];
        v[i * n + j] = 0;
      }
    }
    d[i] = h;
  }
  // Accumulate the transformations (in descriptive-wasm.ts's SIMD kernel where it is available).
  if (!accumulateWasm(v, n, d)) {
    for (let i = 0; i < n - 1; i++) {
      v[(n - 1) * n + i] = v[i * n + i];
      v[i * n + i] = 1;
      const h = d[i + 1];
      if (h !== 0) {
        for (let k = 0; k <= i; k++) d[k] = v[k * n + i + 1] / h;
        for (let j = 0; j <= i; j++) {
          let g = 0;
          for (let k = 0; k <= i; k++) g += v[k * n + i + 1] * v[k * n + j];
          for (let k = 0; k <= i; k++) v[k * n + j] -= g * d[k];
        }
      }
      for (let k = 0; k <= i; k++) v[k * n + i + 1] = 0;
    }
  }
  for (let j = 0; j < n; j++) {
    d[j] = v[(n - 1) * n + j];
    v[(n - 1) * n + j] = 0;
  }
  v[(n - 1) * n + n - 1] = 1;
  e[0] = 0;
}

/**
 * Implicit QL on the tridiagonal (d, e) from tred2, accumulating the rotations into the rows of w (tred2's transform, transposed): d becomes the eigenvalues, the rows of w the eigenvectors.
 * The QL steps never read w, so the rotations are listed as they come and applied after
 * them, in the same order (each entry of w gets the same operations): in descriptive-wasm.ts's
 * SIMD kernel where it is available, two entries per instruction.
 */
function tql2(n: number, w: Float64Array, d: Float64Array, e: Float64Array): void {
  let rowOf = new Int32Array(64 * n);
  let cs = new Float64Array(2 * rowOf.length);
  let count = 0;
  for (let i = 1; i < n; i++) e[i - 1] = e[i];
  e[n - 1] = 0;
  let f = 0;
  let tst1 = 0;
  const eps = 2 ** -52;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]) + Math.abs(e[l]));
    let m = l;
    while (m < n - 1 && Math.abs(e[m]) > eps * tst1) m++;
    if (m > l) {
      for (let iter = 0; iter < 100; iter++) {
        let g = d[l];
        let p = (d[l + 1] - g) / (2 * e[l]);
        let r = Math.hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l] / (p + r);
        d[l + 1] = e[l] * (p + r);
        const dl1 = d[l + 1];
        let h = g - d[l];
        for (let i = l + 2; i < n; i++) d[i] -= h;
        f += h;
        p = d[m];
        let c = 1;
        let c2 = c;
        let c3 = c;
        const el1 = e[l + 1];
        let s = 0;
        let s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i];
          h = c * p;
          r = Math.hypot(p, e[i]);
          e[i + 1] = s * r;
          s = e[i] / r;
          c = p / r;
          p = c * d[i] - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]);
          if (count === rowOf.length) {
            const more = new Int32Array(2 * count);
            more.set(rowOf);
            rowOf = more;
            const moreCs = new Float64Array(4 * count);
            moreCs.set(cs);
            cs = moreCs;
          }
          rowOf[count] = i;
          cs[2 * count] = c;
          cs[2 * count + 1] = s;
          count++;
        }
        p = (-s * s2 * c3 * el1 * e[l]) / dl1;
        e[l] = s * p;
        d[l] = c * p;
        if (Math.abs(e[l]) <= eps * tst1) break;
      }
    }
    d[l] += f;
    e[l] = 0;
  }
  if (!rotateRowsWasm(w, n, rowOf, cs, count)) rotateRows(w, n, rowOf, cs, count);
}

/** Rotation r of the list turns rows rowOf[r] and rowOf[r] + 1 of w by (c, s) = (cs[2 r], cs[2 r + 1]), in order. */
function rotateRows(w: Float64Array, n: number, rowOf: Int32Array, cs: Float64Array, count: number): void {
  for (let r = 0; r < count; r++) {
    const o0 = rowOf[r] * n;
    const o1 = o0 + n;
    const c = cs[2 * r];
    const s = cs[2 * r + 1];
    for (let k = 0; k < n; k++) {
      const wh = w[o1 + k];
      const wi = w[o0 + k];
      w[o1 + k] = s * wi + c * wh;
      w[o0 + k] = c * wi - s * wh;
    }
  }
}

/** Lower-triangular Cholesky factor L (a = L L^T) of a symmetric positive-definite p x p matrix. */
export function cholesky(a: Float64Array, p: number): Float64Array {
  const l = new Float64Array(p * p);
  for (let i = 0; i < p; i++)
    for (let j = 0; j <= i; j++) {
      let s = a[i * p + j];
      const li = i * p;
      const lj = j * p;
      for (let k = 0; k < j; k++) s -= l[li + k] * l[lj + k];
      if (i === j) {
        if (s <= 0) throw new RangeError('matrix is not positive definite');
        l[li + i] = Math.sqrt(s);
      } else l[li + j] = s / l[lj + j];
    }
  return l;
}

/** Solves L y = b in place (b becomes y = L^-1 b), L lower-triangular from `cholesky`: O(p^2 / 2). */
export function forwardSolveInPlace(l: Float64Array, p: number, b: Float64Array): void {
  for (let i = 0; i < p; i++) {
    let s = b[i];
    const li = i * p;
    for (let k = 0; k < i; k++) s -= l[li + k] * b[k];
    b[i] = s / l[li + i];
  }
}

/** Solves L L^T y = b in place (b becomes y), L from `cholesky`: O(p^2). */
export function choleskySolveInPlace(l: Float64Array, p: number, b: Float64Array): void {
  for (let i = 0; i < p; i++) {
    let s = b[i];
    const li = i * p;
    for (let k = 0; k < i; k++) s -= l[li + k] * b[k];
    b[i] = s / l[li + i];
  }
  for (let i = p - 1; i >= 0; i--) {
    let s = b[i];
    for (let k = i + 1; k < p; k++) s -= l[k * p + i] * b[k];
    b[i] = s / l[i * p + i];
  }
}

/** Inverse of a symmetric positive-definite p x p matrix via Cholesky. */
export function spdInverse(a: Float64Array, p: number): Float64Array {
  const l = new Float64Array(p * p);
  for (let i = 0; i < p; i++)
    for (let j = 0; j <= i; j++) {
      let s = a[i * p + j];
      for (let k = 0; k < j; k++) s -= l[i * p + k] * l[j * p + k];
      if (i === j) {
        if (s <= 0) throw new RangeError('matrix is not positive definite');
        l[i * p + i] = Math.sqrt(s);
      } else l[i * p + j] = s / l[j * p + j];
    }
  // inv = L^-T L^-1; solve column by column.
  const inv = new Float64Array(p * p);
  const y = new Float64Array(p);
  for (let c = 0; c < p; c++) {
    for (let i = 0; i < p; i++) {
      let s = i === c ? 1 : 0;
      for (let k = 0; k < i; k++) s -= l[i * p + k] * y[k];
      y[i] = s / l[i * p + i];
    }
    for (let i = p - 1; i >= 0; i--) {
      let s = y[i];
      for (let k = i + 1; k < p; k++) s -= l[k * p + i] * inv[k * p + c];
      inv[i * p + c] = s / l[i * p + i];
    }
  }
  return inv;
}
