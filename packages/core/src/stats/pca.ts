import type { Matrix } from '../monitors/types.js';
import { colMeans, covariance, symmetricEigen, zeros } from './matrix.js';

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
 * Principal components by eigen-decomposition of the p x p covariance: O(n p^2 + p^3).
 * Meant for already-reduced data (p <= a few hundred); reduce 1536-d embeddings
 * first (see matrix.sparseProjection).
 */
export function pcaFit(m: Matrix, q: number): PcaFit {
  const p = m.cols;
  q = Math.min(q, p);
  const mean = colMeans(m);
  const { values, vectors } = symmetricEigen(covariance(m, mean), p);
  return { mean, components: vectors.slice(0, q * p), variances: values.slice(0, q).map((v) => Math.max(0, v)), q, p };
}

/** Scores of each row on the fitted directions: (x - mean) . component_k. */
export function pcaTransform(m: Matrix, fit: PcaFit): Matrix {
  const { q, p, mean, components } = fit;
  if (m.cols !== p) throw new RangeError(`expected ${p} columns, got ${m.cols}`);
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
