import type { Matrix } from '../monitors/types.js';
import type { Rng } from '../monitors/types.js';

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
  for (let i = 0; i < rows; i++) {
    const o = i * cols;
    for (let j = 0; j < cols; j++) mu[j] += data[o + j];
  }
  for (let j = 0; j < cols; j++) mu[j] /= rows || 1;
  return mu;
}

/** Total variance: trace of the (n-1)-normalised covariance = mean squared distance to the centroid x n/(n-1). */
export function totalVariance(m: Matrix, mean = colMeans(m)): number {
  const { rows, cols, data } = m;
  let s = 0;
  for (let i = 0; i < rows; i++) {
    const o = i * cols;
    for (let j = 0; j < cols; j++) {
      const d = data[o + j] - mean[j];
      s += d * d;
    }
  }
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
  // Four rows at a time: each index and weight read serves four rows, and the four sums
  // (each in the order of one row alone) do not wait on one another.
  let i = 0;
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

/** Covariance (cols x cols, (n-1)-normalised) about the given mean. */
export function covariance(m: Matrix, mean = colMeans(m)): Float64Array {
  const { rows, cols, data } = m;
  const c = new Float64Array(cols * cols);
  const x = new Float64Array(cols);
  for (let i = 0; i < rows; i++) {
    const o = i * cols;
    for (let j = 0; j < cols; j++) x[j] = data[o + j] - mean[j];
    for (let a = 0; a < cols; a++) {
      const xa = x[a];
      if (xa === 0) continue;
      const ra = a * cols;
      for (let b = a; b < cols; b++) c[ra + b] += xa * x[b];
    }
  }
  const den = rows > 1 ? rows - 1 : 1;
  for (let a = 0; a < cols; a++)
    for (let b = a; b < cols; b++) {
      const v = c[a * cols + b] / den;
      c[a * cols + b] = v;
      c[b * cols + a] = v;
    }
  return c;
}

/**
 * Eigen-decomposition of a symmetric p x p matrix by cyclic Jacobi rotations.
 * Returns eigenvalues in descending order and the matching unit eigenvectors
 * as rows of `vectors` (p x p). O(p^3) per sweep: meant for p <= a few hundred.
 */
export function symmetricEigen(a: Float64Array, p: number): { values: Float64Array; vectors: Float64Array } {
  const m = Float64Array.from(a);
  const v = new Float64Array(p * p);
  for (let i = 0; i < p; i++) v[i * p + i] = 1;
  for (let sweep = 0; sweep < 60; sweep++) {
    let off = 0;
    let diag = 0;
    for (let i = 0; i < p; i++) {
      diag += m[i * p + i] * m[i * p + i];
      for (let j = i + 1; j < p; j++) off += m[i * p + j] * m[i * p + j];
    }
    if (off <= 1e-22 * diag || off === 0) break;
    for (let i = 0; i < p; i++)
      for (let j = i + 1; j < p; j++) {
        const aij = m[i * p + j];
        if (Math.abs(aij) < 1e-300) continue;
        const theta = (m[j * p + j] - m[i * p + i]) / (2 * aij);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < p; k++) {
          const mki = m[k * p + i];
          const mkj = m[k * p + j];
          m[k * p + i] = c * mki - s * mkj;
          m[k * p + j] = s * mki + c * mkj;
        }
        for (let k = 0; k < p; k++) {
          const mik = m[i * p + k];
          const mjk = m[j * p + k];
          m[i * p + k] = c * mik - s * mjk;
          m[j * p + k] = s * mik + c * mjk;
        }
        for (let k = 0; k < p; k++) {
          const vki = v[k * p + i];
          const vkj = v[k * p + j];
          v[k * p + i] = c * vki - s * vkj;
          v[k * p + j] = s * vki + c * vkj;
        }
      }
  }
  const order = Array.from({ length: p }, (_, i) => i).sort((x, y) => m[y * p + y] - m[x * p + x]);
  const values = new Float64Array(p);
  const vectors = new Float64Array(p * p);
  order.forEach((col, r) => {
    values[r] = m[col * p + col];
    for (let k = 0; k < p; k++) vectors[r * p + k] = v[k * p + col];
  });
  return { values, vectors };
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

/**
 * forwardSolveInPlace on each of the `rows` rows of the row-major `b` (rows x p), four rows
 * at a time: each row gets exactly the operations of forwardSolveInPlace, and every entry of
 * L read serves four rows.
 */
export function forwardSolveRowsInPlace(l: Float64Array, p: number, b: Float64Array, rows: number): void {
  let r = 0;
  for (; r + 4 <= rows; r += 4) {
    const o0 = r * p;
    const o1 = o0 + p;
    const o2 = o1 + p;
    const o3 = o2 + p;
    for (let i = 0; i < p; i++) {
      let s0 = b[o0 + i];
      let s1 = b[o1 + i];
      let s2 = b[o2 + i];
      let s3 = b[o3 + i];
      const li = i * p;
      for (let k = 0; k < i; k++) {
        const lk = l[li + k];
        s0 -= lk * b[o0 + k];
        s1 -= lk * b[o1 + k];
        s2 -= lk * b[o2 + k];
        s3 -= lk * b[o3 + k];
      }
      const d = l[li + i];
      b[o0 + i] = s0 / d;
      b[o1 + i] = s1 / d;
      b[o2 + i] = s2 / d;
      b[o3 + i] = s3 / d;
    }
  }
  for (; r < rows; r++) forwardSolveInPlace(l, p, b.subarray(r * p, (r + 1) * p));
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
