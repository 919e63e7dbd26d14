import type { Matrix } from '../monitors/types.js';
import { projectWasm } from './descriptive-wasm.js';
import { colMeans, covariance, symmetricEigen, zeros } from './matrix.js';
import { Mulberry32, gaussian } from './rng.js';

export interface PcaFit {
  mean: Float64Array;
  /** q x p, row k = k-th principal direction (unit length). */
  components: Float64Array;
  /** Variance along each direction (eigenvalues of the covariance), descending. */
  variances: Float64Array;
  q: number;
  p: number;
}

/**
 * Principal components by eigen-decomposition of the p x p covariance: O(n p^2)
 * for the covariance, then O(p^3) (Householder + QL, matrix.symmetricEigen) when many components are asked for, or
 * O(p^2 q) per step of a subspace iteration when q is small next to p (q <= p / 4).
 * Meant for already-reduced data (p <= a few hundred); reduce 1536-d embeddings
 * first (see matrix.sparseProjection).
 */
export function pcaFit(m: Matrix, q: number): PcaFit {
  const p = m.cols;
  q = Math.min(q, p);
  const mean = colMeans(m);
  const cov = covariance(m, mean);
  const { values, vectors } = q <= p / 4 && p >= 128 ? topEigen(cov, p, q) : symmetricEigen(cov, p);
  return { mean, components: vectors.slice(0, q * p), variances: values.slice(0, q).map((v) => Math.max(0, v)), q, p };
}

/**
 * The q leading eigenpairs of a symmetric positive semi-definite p x p matrix by
 * subspace iteration (q + 8 vectors, re-orthonormalised each step) and a final
 * Rayleigh-Ritz step; stops when the Ritz values change by less than 1e-8
 * relative, or after 100 steps. Deterministic (fixed starting basis).
 * Returns `values` (q, descending) and `vectors` (q x p, rows).
 */
export function topEigen(a: Float64Array, p: number, q: number): { values: Float64Array; vectors: Float64Array } {
  const k = Math.min(p, q + 8);
  let basis = new Float64Array(k * p); // rows = vectors
  const rng = new Mulberry32(12345);
  for (let i = 0; i < basis.length; i++) basis[i] = gaussian(rng);
  orthonormaliseRows(basis, k, p);
  let next = new Float64Array(k * p);
  let previous = new Float64Array(k);
  const ritz = new Float64Array(k);
  for (let step = 0; step < 100; step++) {
    // next_r = A basis_r (A symmetric)
    next.fill(0);
    for (let r = 0; r < k; r++) {
      const br = r * p;
      for (let i = 0; i < p; i++) {
        let s = 0;
        const ai = i * p;
        for (let j = 0; j < p; j++) s += a[ai + j] * basis[br + j];
        next[br + i] = s;
      }
      let d = 0;
      for (let i = 0; i < p; i++) d += basis[br + i] * next[br + i];
      ritz[r] = d;
    }
    [basis, next] = [next, basis];
    orthonormaliseRows(basis, k, p);
    let change = 0;
    let scale = 0;
    for (let r = 0; r < q; r++) {
      change = Math.max(change, Math.abs(ritz[r] - previous[r]));
      scale = Math.max(scale, Math.abs(ritz[r]));
    }
    previous = Float64Array.from(ritz);
    if (step > 3 && change <= 1e-8 * (scale || 1)) break;
  }
  // Rayleigh-Ritz: T = B A B^T (k x k), eigen of T, vectors = eig^T B.
  const ab = new Float64Array(k * p);
  for (let r = 0; r < k; r++)
    for (let i = 0; i < p; i++) {
      let s = 0;
      for (let j = 0; j < p; j++) s += a[i * p + j] * basis[r * p + j];
      ab[r * p + i] = s;
    }
  const t = new Float64Array(k * k);
  for (let r = 0; r < k; r++)
    for (let c = 0; c < k; c++) {
      let s = 0;
      for (let i = 0; i < p; i++) s += basis[r * p + i] * ab[c * p + i];
      t[r * k + c] = s;
    }
  for (let r = 0; r < k; r++) for (let c = r + 1; c < k; c++) t[r * k + c] = t[c * k + r] = (t[r * k + c] + t[c * k + r]) / 2;
  const small = symmetricEigen(t, k);
  const vectors = new Float64Array(q * p);
  for (let r = 0; r < q; r++)
    for (let c = 0; c < k; c++) {
      const w = small.vectors[r * k + c];
      for (let i = 0; i < p; i++) vectors[r * p + i] += w * basis[c * p + i];
    }
  return { values: small.values.slice(0, q), vectors };
}

/** Modified Gram-Schmidt on the rows of a k x p matrix (k <= p), in place; a row in the span of the earlier ones is replaced by a coordinate vector outside it. */
function orthonormaliseRows(m: Float64Array, k: number, p: number): void {
  let candidate = 0;
  for (let r = 0; r < k; r++) {
    const o = r * p;
    for (;;) {
      for (let pass = 0; pass < 2; pass++)
        for (let s = 0; s < r; s++) {
          let d = 0;
          for (let i = 0; i < p; i++) d += m[o + i] * m[s * p + i];
          for (let i = 0; i < p; i++) m[o + i] -= d * m[s * p + i];
        }
      let n = 0;
      for (let i = 0; i < p; i++) n += m[o + i] ** 2;
      n = Math.sqrt(n);
      if (n > 1e-12 || candidate >= p) {
        for (let i = 0; i < p; i++) m[o + i] = n > 0 ? m[o + i] / n : 0;
        break;
      }
      for (let i = 0; i < p; i++) m[o + i] = 0;
      m[o + candidate++] = 1;
    }
  }
}
/**
 * Scores of each row on the fitted directions: (x - mean) . component_k, summed over the
 * columns in order; in descriptive-wasm.ts's SIMD kernel where it is available (two
 * components per instruction, the same sums).
 */
export function pcaTransform(m: Matrix, fit: PcaFit): Matrix {
  const { q, p, mean, components } = fit;
  if (m.cols !== p) throw new RangeError(`expected ${p} columns, got ${m.cols}`);
  const scores = q > 0 ? projectWasm(m, mean, components, q) : null;
  if (scores) return { rows: m.rows, cols: q, data: scores };
  const out = zeros(m.rows, q);
  const x = new Float64Array(p);
  for (let i = 0; i < m.rows; i++) {
    for (let j = 0; j < p; j++) x[j] = m.data[i * p + j] - mean[j];
    for (let k = 0; k < q; k++) {
      let s = 0;
      const o = k * p;
      for (let j = 0; j < p; j++) s += x[j] * components[o + j];
      out.data[i * q + k] = s;
    }
  }
  return out;
}

/** Column k of a matrix, copied. */
export function column(m: Matrix, k: number): Float64Array {
  const out = new Float64Array(m.rows);
  for (let i = 0; i < m.rows; i++) out[i] = m.data[i * m.cols + k];
  return out;
}
